/**
 * Drill: PostgreSQL slow: every packet 1500 ± 300 ms late (Toxiproxy `latency` with jitter), beyond the
 * journal's write timeout (DATABASE_WRITE_TIMEOUT_MS=1000 here).
 * Runbook thresholds: "Comprehensive Health Check, steps 1-2: the service health endpoint or the database
 * connectivity failing → UNHEALTHY (exit 2)"; "Severity Levels → Level 1 (Critical): Complete trading
 * outage"; "Troubleshooting → Issue 3: Database Connection Issues".
 * Expected (see postgres-outage.ts): /health 503 UNHEALTHY, dependency_down Level 1 naming postgresql, a new
 * order UNAVAILABLE naming PostgreSQL, script exit 2; healed, the service resumes by itself, nothing
 * acknowledged lost.
 */
import type { Drill } from '../drill.ts';
import { outage } from './postgres-outage.ts';

export const drill: Drill = {
  name: 'postgres-slow',
  threshold: 'runbook "Issue 3: Database Connection Issues: Connection timeouts": journal writes slower than DATABASE_WRITE_TIMEOUT_MS (1000 ms here) → UNHEALTHY (exit 2)',
  mitigation: 'none: the service resumes by itself once PostgreSQL is fast again',
  needs: { postgresProxy: true, env: { DATABASE_WRITE_TIMEOUT_MS: '1000' } },
  run: (ctx) => outage(ctx, { kind: 'latency', latencyMs: 1500, jitterMs: 300 }, 'every packet 1500 ± 300 ms late'),
};
