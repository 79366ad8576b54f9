/**
 * The checksum a stored snapshot is verified with — sha256 of canonicalJson(JSON.parse(text)), the
 * same value canonicalChecksum() gives for the parsed payload — computed in a worker thread, off the
 * event loop: the loop's only work is handing the text over (a string copy). A snapshot of a deep pair
 * is tens of MB of text; its canonical JSON and sha256 took about 0.5 s of CPU on the loop (in slices),
 * and that verification now runs on another core while the loop parses the same text for its own use.
 * One short-lived worker per call: snapshots are loaded once per pair at recovery, rarely after.
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

/** Rejects when the text is not JSON or the worker fails; never computes on the calling thread. */
export function jsonChecksumOffLoop(text: string): Promise<JsonChecksum> {
  return new Promise<JsonChecksum>((resolve, reject) => {
    const worker = startWorker();
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.once('message', (reply: JsonChecksumReply) => settle(() => ('error' in reply ? reject(new Error(`snapshot checksum: ${reply.error}`)) : resolve(reply))));
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`snapshot checksum worker exited (${code}) before answering`))));
    const request: JsonChecksumRequest = { text };
    worker.postMessage(request);
  });
}
