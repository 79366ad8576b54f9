/**
 * Drill: memory pressure past the runbook's limit, with real resident memory.
 * Runbook thresholds: "Comprehensive Health Check, step 7: MEMORY_USAGE -gt 6000 (Mi) → DEGRADED";
 * "Severity Levels → Level 2 (High): Memory leak detection"; "Scenario 3: Memory Leak Detection".
 * Fault: POST /admin/chaos/memory holds 6100 MiB of off-heap Buffers, every page written (resident), on
 * top of the process's own memory (the V8 heap limit here, ~4.1 GiB, is below the threshold: only off-heap
 * memory can cross it). Expected: memory_high Level 2, /health 200 DEGRADED, process_resident_memory_bytes
 * above 6000 MiB, script exit 1 (step 7 reads the RSS from /admin/system/resources without kubectl);
 * released → HEALTHY, RSS back down.
 */
import type { Drill } from '../drill.ts';
import { baseline } from './common.ts';

const MIB = 1024 * 1024;
export const BALLAST_MIB = Number(process.env['CHAOS_BALLAST_MIB'] ?? 6100);

export const drill: Drill = {
  name: 'memory-pressure',
  threshold: 'runbook "Comprehensive Health Check" step 7: memory > 6000 Mi → DEGRADED; Level 2 (High) "Memory leak detection"',
  mitigation: 'release the ballast (POST /admin/chaos/memory {"mib":0}), standing in for the runbook\'s "Restart affected pods" (the kill -9 drill covers a restart)',
  needs: BALLAST_MIB > 8192 ? { env: { CHAOS_MAX_BALLAST_MIB: String(BALLAST_MIB) } } : {},
  async run(ctx) {
    const load = await baseline(ctx);
    const rssBefore = (await ctx.view.getJson('/admin/chaos/memory')).json?.rss_mib;
    ctx.injected(`POST /admin/chaos/memory {"mib":${BALLAST_MIB}}`);
    const t0 = Date.now();
    const held = await ctx.view.post('/admin/chaos/memory', { mib: BALLAST_MIB });
    const allocMs = Date.now() - t0;
    ctx.log(`ballast held: ${held.held_mib} MiB, rss ${held.rss_mib} MiB, allocated and written in ${allocMs} ms`);
    await ctx.expectView(
      'tripped',
      {
        status: 'DEGRADED',
        alerts: [{ name: 'memory_high', level: 2 }],
        metrics: [{ name: 'process_resident_memory_bytes', test: (v) => (v ?? 0) > 6000 * MIB, describe: 'must be > 6000 MiB' }],
      },
      60_000,
    );
    ctx.tripped();
    await ctx.expectView('tripped', { script: 1 }, 30_000);
    const rssHeld = (await ctx.view.getJson('/admin/chaos/memory')).json?.rss_mib;
    // The growth-rate signal (runbook Scenario 3 "Monitor memory growth rate"): RSS sampled every 5 s.
    const growth = await ctx.waitFor('the memory growth rate shows the ballast', 20_000, async () => {
      const g = (await ctx.view.getJson('/admin/system/resources')).json?.memory?.growth_mib_per_minute;
      return typeof g === 'number' && g > 1000 ? g : undefined;
    });
    ctx.symptoms.push(`tripped: /admin/system/resources memory.growth_mib_per_minute = ${growth} (must be > 1000)`);
    const t1 = Date.now();
    const released = await ctx.view.post('/admin/chaos/memory', { mib: 0 });
    const releaseMs = Date.now() - t1;
    ctx.mitigated('POST /admin/chaos/memory {"mib":0}');
    await ctx.expectHealthy('recovered', 60_000);
    ctx.figures['rss_mib'] = { before: rssBefore, held: rssHeld, after_release: released.rss_mib, growth_mib_per_minute_at_trip: growth };
    ctx.figures['ballast_ms'] = { allocate_and_write: allocMs, release: releaseMs };
    ctx.check(load.progress().acknowledged > 0, 'the simulator kept trading');
  },
};
