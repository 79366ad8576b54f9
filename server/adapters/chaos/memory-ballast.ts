/**
 * Memory pressure for chaos drills: real off-heap memory (Buffers outside the V8 heap, whose limit here is
 * about 4.1 GiB, below the runbook's 6000 MiB threshold), every page written so it is resident (RSS), held
 * until released. The ballast lives in a worker thread of the service process: its pages count in the
 * process's RSS like any leak, but writing 6 GB of fresh pages (page faults, seconds of kernel time) does
 * not stall the service's event loop, so the drill sees the memory alert and not a latency side effect.
 * Shrinking ends the worker (its memory is unmapped with its isolate) and grows a new one to the target.
 * Capped by CHAOS_MAX_BALLAST_MIB. Only built when CHAOS_ENABLED.
 */
import { Worker } from 'node:worker_threads';

/** One allocation step. */
export const BALLAST_CHUNK_MIB = 64;

export interface BallastStatus {
  held_mib: number;
  target_mib: number;
  max_mib: number;
  /** True while chunks are still being allocated or released. */
  changing: boolean;
}

/** The worker: holds `mib` MiB of written Buffers on request and answers with what it holds. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const MIB = 1024 * 1024;
const chunks = [];
let held = 0;
parentPort.on('message', (target) => {
  while (held < target) {
    const size = Math.min(${BALLAST_CHUNK_MIB}, target - held) * MIB;
    const b = Buffer.allocUnsafeSlow(size);
    b.fill(0x5a);
    chunks.push(b);
    held += size / MIB;
  }
  parentPort.postMessage(held);
});
`;

export class MemoryBallast {
  private worker: Worker | undefined;
  private held = 0;
  private target = 0;
  private work: Promise<void> = Promise.resolve();
  private changing = false;

  constructor(readonly maxMiB: number) {
    if (!Number.isSafeInteger(maxMiB) || maxMiB < 1) throw new RangeError('maxMiB must be a positive integer');
  }

  get heldMiB(): number {
    return this.held;
  }

  status(): BallastStatus {
    return { held_mib: this.held, target_mib: this.target, max_mib: this.maxMiB, changing: this.changing };
  }

  /**
   * Grows or shrinks the ballast to `mib` (at most maxMiB); resolves once it holds that much. Calls are
   * serialized: the last one wins.
   */
  set(mib: number): Promise<BallastStatus> {
    if (!Number.isSafeInteger(mib) || mib < 0 || mib > this.maxMiB) throw new RangeError(`mib must be a whole number in 0-${this.maxMiB}`);
    this.target = mib;
    this.work = this.work.then(() => this.converge()).catch(() => undefined);
    return this.work.then(() => this.status());
  }

  /** Ends the worker and its memory (service stop). */
  async close(): Promise<void> {
    await this.set(0);
  }

  private async converge(): Promise<void> {
    this.changing = true;
    try {
      const target = this.target;
      if (target < this.held && this.worker !== undefined) {
        await this.worker.terminate(); // its isolate, and every Buffer in it, is freed
        this.worker = undefined;
        this.held = 0;
      }
      if (target > this.held) {
        const worker = (this.worker ??= new Worker(WORKER_SOURCE, { eval: true }));
        worker.unref();
        this.held = await new Promise<number>((ok, fail) => {
          worker.once('message', ok);
          worker.once('error', fail);
          worker.postMessage(target);
        });
      }
    } finally {
      this.changing = false;
    }
  }
}
