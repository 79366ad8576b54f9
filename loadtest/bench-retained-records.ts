/**
 * Heap kept per idempotency record (`npm run bench:retained`): the in-process session store
 * (MemorySessionStore, the default without REDIS_URL) remembers BENCH_RECORDS client orders of 8
 * accounts, each record built as the order path builds it (`o2|<fingerprint>|<answer as latin1>`, from
 * template literals) with a SubmitOrderResponse-sized answer; the heap is measured after full
 * collections before and after, and the bytes per record printed (what every order leaves on the heap
 * for IDEMPOTENCY_TTL_MS, and what the young-generation collector copies before it is promoted).
 * Deterministic (seeded bytes), so a before/after on two builds compares like with like.
 *
 *   BENCH_RECORDS (100000)   BENCH_ANSWER_BYTES (130)   BENCH_TAG ()
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemorySessionStore } from '../server/adapters/embedded/memory-session-store.ts';
import { ManualClock } from '../server/ports/clock.ts';
import { envInt, gitCommit } from './bench-support.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RECORDS = envInt('BENCH_RECORDS', 100_000);
const ANSWER_BYTES = envInt('BENCH_ANSWER_BYTES', 130);
const TAG = process.env.BENCH_TAG || '';
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench:retained does)');

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage().heapUsed;
}

/** What a decoded request's strings are: flat, made from bytes. */
const decoded = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

const ACCOUNTS = Array.from({ length: 8 }, (_, i) => decoded(`bench-account-${i}`));
const PAIR = decoded('BTC-USD');
let seed = 7;
const answer = Buffer.alloc(ANSWER_BYTES);

const clock = new ManualClock();
const store = new MemorySessionStore({ clock, maxClientOrders: RECORDS + 1, maxClientOrdersPerAccount: RECORDS + 1 });
// The ids are made before the first measurement: the registry holds them anyway (the record's key is what the store adds).
const ids = Array.from({ length: RECORDS }, (_, i) => decoded(`cid-${i.toString(36).padStart(8, '0')}-${(i * 2654435761) % 1e9}`));
const before = heapAfterGc();
for (let i = 0; i < RECORDS; i++) {
  for (let b = 0; b < ANSWER_BYTES; b++) answer[b] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
  const side = 1 + (i % 2);
  const fingerprint = `${side}.1.1.0.${100_000 + (i % 977)}.${1 + (i % 50)}.0`;
  store.rememberClientOrderNow(ACCOUNTS[i % 8]!, PAIR, ids[i]!, `o2|${fingerprint}|${answer.toString('latin1')}`);
}
const after = heapAfterGc();
if (store.sizes().clientOrders !== RECORDS) throw new Error(`the store kept ${store.sizes().clientOrders} of ${RECORDS} records`);
const perRecord = (after - before) / RECORDS;
const commit = gitCommit(ROOT, ['server', 'loadtest']);
console.log(`bench:retained  node ${process.version}  commit ${commit}: ${RECORDS} records of a ${ANSWER_BYTES}-byte answer: ${perRecord.toFixed(1)} bytes of heap per record (${((after - before) / 2 ** 20).toFixed(1)} MiB)`);
mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
appendFileSync(join(ROOT, 'bench-results/retained-records-history.jsonl'), `${JSON.stringify({ date: new Date().toISOString(), commit, tag: TAG, node: process.version, records: RECORDS, answerBytes: ANSWER_BYTES, bytesPerRecord: Math.round(perRecord * 10) / 10 })}\n`);
