/**
 * Steady: a constant arrival rate (open loop: k6 starts iterations on schedule whether or not earlier
 * ones finished, so a slow server shows as latency, not as fewer requests).
 *   k6 run -e RATE=2000 -e DURATION=10m loadtest/k6/steady.ts
 */
import type { Options } from 'k6/options';
import { RUNBOOK_THRESHOLDS, accountsFor, createAccounts, envInt, tradeOnce, type Credentials } from './common.ts';

const RATE = envInt('RATE', 1000);

export const options: Options = {
  scenarios: {
    steady: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: __ENV['DURATION'] ?? '10m',
      preAllocatedVUs: envInt('VUS', 50),
      maxVUs: envInt('MAX_VUS', 500),
    },
  },
  thresholds: RUNBOOK_THRESHOLDS,
};

export function setup(): Credentials[] {
  return createAccounts(accountsFor(RATE));
}

export default function (accounts: Credentials[]): void {
  tradeOnce(accounts);
}
