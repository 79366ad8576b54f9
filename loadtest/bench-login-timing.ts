/**
 * Issue 7 item 5, measured: the in-process store's login for an unknown key id vs a wrong secret
 * (both fail with the same error; the unknown key id is compared against a dummy hash). Interleaved
 * rounds, median and p90 in µs per attempt, with the load average. Never fails on timing.
 *
 *   node --import tsx loadtest/bench-login-timing.ts     BENCH_ATTEMPTS (20000)
 */
import { loadavg } from 'node:os';
import { MemorySessionStore } from '../server/adapters/embedded/memory-session-store.ts';
import { ManualClock } from '../server/ports/clock.ts';

const N = Number(process.env['BENCH_ATTEMPTS'] ?? 20_000);

async function main(): Promise<void> {
  const store = new MemorySessionStore({ clock: new ManualClock(1_700_000_000_000) });
  const key = await store.createApiKey('timing');
  const wrongSecret = 'W'.repeat(43);
  const unknownKey = 'ak_' + 'U'.repeat(16);
  const unknown: number[] = [];
  const wrong: number[] = [];
  for (let i = 0; i < N; i++) {
    for (const [keyId, into] of i % 2 === 0 ? ([[unknownKey, unknown], [key.keyId, wrong]] as const) : ([[key.keyId, wrong], [unknownKey, unknown]] as const)) {
      const t0 = process.hrtime.bigint();
      await store.login(keyId, wrongSecret, 60_000).catch(() => {});
      (into as number[]).push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  }
  const stat = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { median_us: +s[Math.floor(s.length / 2)]!.toFixed(2), p90_us: +s[Math.floor(s.length * 0.9)]!.toFixed(2) };
  };
  console.log(JSON.stringify({ attempts_each: N, unknown_key_id: stat(unknown), wrong_secret: stat(wrong), loadavg: loadavg().map((x) => +x.toFixed(2)) }));
}
void main();
