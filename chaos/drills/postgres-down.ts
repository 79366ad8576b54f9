/**
 * Drill: PostgreSQL unreachable: the proxy refuses connections and cuts the open ones (Toxiproxy `down`).
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
  name: 'postgres-down',
  threshold: 'runbook "Comprehensive Health Check" steps 1-2: database unreachable → UNHEALTHY (exit 2); Level 1 "Complete trading outage"',
  mitigation: 'none: the service resumes by itself once PostgreSQL answers (runbook "Issue 3: Database Connection Issues")',
  needs: { postgresProxy: true, env: { DATABASE_WRITE_TIMEOUT_MS: '1000' } },
  run: (ctx) => outage(ctx, { kind: 'down' }, 'connections refused and cut'),
};
