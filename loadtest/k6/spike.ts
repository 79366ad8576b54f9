/**
 * Spike: a BASE rate, a sudden jump to SPIKE for SPIKE_FOR, back to BASE: does latency recover, do
 * breakers stay closed? Thresholds cover the whole run, spike included.
 *   k6 run -e BASE=500 -e SPIKE=8000 -e SPIKE_FOR=30s loadtest/k6/spike.ts
 */
import type { Options } from 'k6/options';
import { RUNBOOK_THRESHOLDS, accountsFor, createAccounts, envInt, tradeOnce, type Credentials } from './common.ts';

const BASE = envInt('BASE', 500);
const SPIKE = envInt('SPIKE', 8000);
const SPIKE_FOR = __ENV['SPIKE_FOR'] ?? '30s';

export const options: Options = {
  scenarios: {
    spike: {
      executor: 'ramping-arrival-rate',
      startRate: BASE,
      timeUnit: '1s',
      preAllocatedVUs: envInt('VUS', 200),
      maxVUs: envInt('MAX_VUS', 2000),
      stages: [
        { target: BASE, duration: '2m' },
        { target: SPIKE, duration: '5s' },
        { target: SPIKE, duration: SPIKE_FOR },
        { target: BASE, duration: '5s' },
        { target: BASE, duration: '3m' },
      ],
    },
  },
  thresholds: RUNBOOK_THRESHOLDS,
};

export function setup(): Credentials[] {
  return createAccounts(accountsFor(SPIKE));
}

export default function (accounts: Credentials[]): void {
  tradeOnce(accounts);
}
