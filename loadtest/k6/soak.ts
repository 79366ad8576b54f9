/**
 * Soak: a moderate constant rate for hours (default 4h at 1000/s): memory growth (the 6000 MiB alert),
 * journal lag and latency drift show up here, not in short runs. Watch the Grafana dashboard alongside.
 *   k6 run -e RATE=1000 -e DURATION=4h loadtest/k6/soak.ts
 */
import type { Options } from 'k6/options';
import { RUNBOOK_THRESHOLDS, accountsFor, createAccounts, envInt, tradeOnce, type Credentials } from './common.ts';

const RATE = envInt('RATE', 1000);

export const options: Options = {
  scenarios: {
    soak: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: __ENV['DURATION'] ?? '4h',
      preAllocatedVUs: envInt('VUS', 50),
      maxVUs: envInt('MAX_VUS', 500),
    },
  },
  thresholds: { ...RUNBOOK_THRESHOLDS, dropped_iterations: ['count<100'] },
};

export function setup(): Credentials[] {
  return createAccounts(accountsFor(RATE));
}

export default function (accounts: Credentials[]): void {
  tradeOnce(accounts);
}
