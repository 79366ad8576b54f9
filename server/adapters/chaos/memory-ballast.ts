/**
 * Memory pressure for chaos drills: real off-heap memory (Buffers outside the V8 heap, whose limit here is
 * about 4.1 GiB, below the runbook's 6000 MiB threshold), every page written so it is resident (RSS), held
 * until released. Allocated in chunks with a yield between them so the service keeps answering while it
 * grows; capped by CHAOS_MAX_BALLAST_MIB. Release drops the chunks and runs a full GC so the pages go back
 * to the OS at once (large Buffers are mmap-backed: freeing them unmaps them).
 * Only built when CHAOS_ENABLED.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** One allocation step. */
export const BALLAST_CHUNK_MIB = 64;
const MIB = 1024 * 1024;
/** Full GCs tried (100 ms apart) for released memory to leave the RSS. */
const RELEASE_ATTEMPTS = 30;

export interface BallastStatus {
  held_mib: number;
  target_mib: number;
  max_mib: number;
  /** True while chunks are still being allocated or released. */
  changing: boolean;
}

let forcedGc: (() => void) | undefined;
/** A full GC without starting node with --expose-gc (chaos only): freed Buffers return their pages now. */
function fullGc(): void {
  if (forcedGc === undefined) {
    setFlagsFromString('--expose-gc');
    forcedGc = runInNewContext('gc') as () => void;
  }
  forcedGc();
}

export class MemoryBallast {
  private readonly chunks: Buffer[] = [];
  private target = 0;
  private work: Promise<void> = Promise.resolve();
  private changing = false;

  constructor(readonly maxMiB: number) {
    if (!Number.isSafeInteger(maxMiB) || maxMiB < 1) throw new RangeError('maxMiB must be a positive integer');
  }

  get heldMiB(): number {
    return this.chunks.reduce((a, c) => a + c.length, 0) / MIB;
  }

  status(): BallastStatus {
    return { held_mib: this.heldMiB, target_mib: this.target, max_mib: this.maxMiB, changing: this.changing };
  }

  /**
   * Grows or shrinks the ballast to `mib` (rounded up to whole chunks, at most maxMiB); resolves once it
   * holds that much. Calls are serialized: the last one wins.
   */
  set(mib: number): Promise<BallastStatus> {
    if (!Number.isSafeInteger(mib) || mib < 0 || mib > this.maxMiB) throw new RangeError(`mib must be a whole number in 0-${this.maxMiB}`);
    this.target = mib;
    this.work = this.work.then(() => this.converge());
    return this.work.then(() => this.status());
  }

  private async converge(): Promise<void> {
    this.changing = true;
    try {
      const chunk = BALLAST_CHUNK_MIB * MIB;
      while (this.heldMiB < this.target) {
        const size = Math.min(chunk, (this.target - this.heldMiB) * MIB);
        // allocUnsafeSlow: outside Node's pool; fill writes every page, so it is resident, not just reserved.
        const b = Buffer.allocUnsafeSlow(size);
        b.fill(0x5a);
        this.chunks.push(b);
        await new Promise((r) => setImmediate(r));
      }
      if (this.heldMiB > this.target) {
        const rssBefore = process.memoryUsage.rss() / MIB;
        let dropped = 0;
        while (this.heldMiB > this.target) dropped += this.chunks.pop()!.length / MIB;
        // Full GCs a macrotask apart until the pages are back (bounded: RELEASE_ATTEMPTS): the first finds
        // the Buffers dead; their backing stores are freed (unmapped) once V8 has finished sweeping.
        for (let i = 0; i < RELEASE_ATTEMPTS; i++) {
          fullGc();
          await new Promise((r) => setTimeout(r, i === 0 ? 0 : 100));
          if (rssBefore - process.memoryUsage.rss() / MIB >= dropped * 0.9) break;
        }
      }
    } finally {
      this.changing = false;
    }
  }
}
