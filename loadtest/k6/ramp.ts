/**
 * Ramp: arrival rate raised in steps to PEAK (default 5000/s), held, then lowered: where does p95 cross
 * 20 ms? The thresholds fail the run when it does.
 *   k6 run -e PEAK=5000 -e STEP=2m loadtest/k6/ramp.ts
 */
import type { Options } from 'k6/options';
import { RUNBOOK_THRESHOLDS, accountsFor, createAccounts, envInt, tradeOnce, type Credentials } from './common.ts';

const PEAK = envInt('PEAK', 5000);
const STEP = __ENV['STEP'] ?? '2m';

export const options: Options = {
  scenarios: {
    ramp: {
      executor: 'ramping-arrival-rate',
      startRate: Math.max(1, Math.floor(PEAK / 10)),
      timeUnit: '1s',
      preAllocatedVUs: envInt('VUS', 100),
      maxVUs: envInt('MAX_VUS', 1000),
      stages: [
        { target: Math.floor(PEAK / 4), duration: STEP },
        { target: Math.floor(PEAK / 2), duration: STEP },
        { target: Math.floor((PEAK * 3) / 4), duration: STEP },
        { target: PEAK, duration: STEP },
        { target: PEAK, duration: STEP },
        { target: 0, duration: '30s' },
      ],
    },
  },
  thresholds: RUNBOOK_THRESHOLDS,
};

export function setup(): Credentials[] {
  return createAccounts(accountsFor(PEAK));
}

export default function (accounts: Credentials[]): void {
  tradeOnce(accounts);
}
