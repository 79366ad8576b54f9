/**
 * Drill: PostgreSQL resets every connection (Toxiproxy `reset_peer`, at once): a crashing server or a firewall sending RST.
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
  name: 'postgres-reset-peer',
  threshold: 'runbook "Issue 3: Database Connection Issues": connections reset by the peer → UNHEALTHY (exit 2)',
  mitigation: 'none: the service resumes by itself once PostgreSQL answers',
  needs: { postgresProxy: true, env: { DATABASE_WRITE_TIMEOUT_MS: '1000' } },
  run: (ctx) => outage(ctx, { kind: 'reset_peer', timeoutMs: 0 }, 'every connection reset (RST)'),
};
