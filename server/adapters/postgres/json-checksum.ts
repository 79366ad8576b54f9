/**
 * The checksum a snapshot is stored and verified with — sha256 of canonicalJson(JSON.parse(text)) —
 * computed in a worker thread, off the event loop: the loop's only work is handing the text over (a string copy). A snapshot of a deep pair
 * is tens of MB of text; its canonical JSON and sha256 took about 0.5 s of CPU on the loop (in slices),
 * and that verification now runs on another core while the loop parses the same text for its own use;
 * a save computes the checksum it stores the same way. One worker serves every call, one text at a
 * time, started on first use; it does not keep the process alive while idle, and one that fails or
 * exits fails the calls it holds and is replaced on the next.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { JsonChecksumReply, JsonChecksumRequest } from './json-checksum-worker.ts';

/** The worker module beside this one: .js in the build, .ts from the sources (then loaded through tsx). */
const WORKER_URL = new URL(`./json-checksum-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
/**
 * From the sources (tsx, vitest) the worker module is TypeScript: the worker registers tsx's loader
 * first (a `--import tsx` flag does not reach a worker's own imports on Node 20), then imports it.
 */
function startWorker(): Worker {
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const source = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new Worker(source, { eval: true });
}

export interface JsonChecksum {
  /** sha256 (hex) of canonicalJson(JSON.parse(text)). */
  checksum: string;
  /** The thread that computed it (never the caller's). */
  threadId: number;
}

interface Shared {
  worker: Worker;
  /** Calls awaiting the worker's answer, by request id. */
  pending: Map<number, { resolve: (r: JsonChecksum) => void; reject: (e: Error) => void }>;
}

let shared: Shared | undefined;
let lastId = 0;

function sharedWorker(): Shared {
  if (shared !== undefined) return shared;
  const s: Shared = { worker: startWorker(), pending: new Map() };
  const failAll = (err: Error): void => {
    if (shared === s) shared = undefined;
    for (const p of s.pending.values()) p.reject(err);
    s.pending.clear();
    void s.worker.terminate();
  };
  s.worker.on('message', (reply: JsonChecksumReply) => {
    const p = s.pending.get(reply.id);
    if (p === undefined) return;
    s.pending.delete(reply.id);
    if (s.pending.size === 0) s.worker.unref();
    if ('error' in reply) p.reject(new Error(`snapshot checksum: ${reply.error}`));
    else p.resolve({ checksum: reply.checksum, threadId: reply.threadId });
  });
  s.worker.on('error', failAll);
  s.worker.on('exit', (code) => failAll(new Error(`snapshot checksum worker exited (${code}) before answering`)));
  shared = s;
  return s;
}

/**
 * Rejects when the text is not JSON or the worker fails; never computes on the calling thread. `text`
 * may be UTF-8 bytes: in a SharedArrayBuffer the worker reads them without a copy on this thread.
 */
export function jsonChecksumOffLoop(text: string | Uint8Array): Promise<JsonChecksum> {
  return new Promise<JsonChecksum>((resolve, reject) => {
    const s = sharedWorker();
    const id = ++lastId;
    s.pending.set(id, { resolve, reject });
    s.worker.ref(); // an answer outstanding keeps the process alive
    const request: JsonChecksumRequest = { id, text };
    s.worker.postMessage(request);
  });
}
