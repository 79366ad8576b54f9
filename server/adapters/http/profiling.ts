/**
 * The runbook's `/debug/pprof/*` endpoints, honestly translated to Node (docs/operations.md):
 * - heap: V8's sampling heap profiler via @datadog/pprof, encoded as gzip-compressed pprof protobuf
 *   (what `go tool pprof heap.prof` reads). Sampling is started with the service, so a profile shows the
 *   live allocations sampled since then, like Go's inuse_space.
 * - profile?seconds=N: a wall-clock CPU profile of N seconds (1-60), pprof format; one at a time.
 * - goroutine?debug=1: Node has ONE JavaScript thread, so there are no goroutines to dump; the text lists
 *   what plays their role: the pending resources (sockets, timers, requests) keeping the loop alive.
 * - mutex: Node has no mutexes; the contention that matters is callbacks waiting for the one busy thread,
 *   measured as event-loop delay and utilization.
 */
import * as pprof from '@datadog/pprof';
import type { EventLoopMonitor } from '../metrics/event-loop-monitor.ts';

/** Average bytes between heap samples; smaller is more detail and more overhead. */
export const HEAP_SAMPLING_INTERVAL_BYTES = 512 * 1024;
/** Frames kept per sampled allocation stack. */
export const HEAP_STACK_DEPTH = 64;

export class BusyError extends Error {
  constructor(what: string) {
    super(what);
    this.name = 'BusyError';
  }
}

/** V8's sampling heap profiler is per process; services built in one process (tests) share it. */
let heapUsers = 0;
/** Likewise only one wall profile can run per process. */
let cpuRunning = false;

export class Profiler {
  private heapStarted = false;

  startHeapSampling(): void {
    if (this.heapStarted) return;
    if (heapUsers++ === 0) pprof.heap.start(HEAP_SAMPLING_INTERVAL_BYTES, HEAP_STACK_DEPTH);
    this.heapStarted = true;
  }

  stopHeapSampling(): void {
    if (!this.heapStarted) return;
    this.heapStarted = false;
    if (--heapUsers === 0) pprof.heap.stop();
  }

  /** gzip-compressed pprof protobuf of the sampled live heap. */
  async heapProfile(): Promise<Buffer> {
    this.startHeapSampling();
    return pprof.encode(pprof.heap.profile());
  }

  /** gzip-compressed pprof protobuf of a wall-clock profile over `seconds`. */
  async cpuProfile(seconds: number): Promise<Buffer> {
    if (cpuRunning) throw new BusyError('a CPU profile is already being taken; retry when it finishes');
    cpuRunning = true;
    try {
      return await pprof.encode(await pprof.time.profile({ durationMillis: seconds * 1000 }));
    } finally {
      cpuRunning = false;
    }
  }
}

function countByType(types: readonly string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/** Text for `/debug/pprof/goroutine?debug=1`. */
export function goroutineText(eventLoop: EventLoopMonitor, extra: Record<string, number>): string {
  const resources = process.getActiveResourcesInfo();
  const el = eventLoop.latest();
  const lines = [
    `node: 1 JavaScript thread (pid ${process.pid}, node ${process.version}); Node has no goroutines.`,
    'What stands in for them: the pending resources the event loop is waiting on, by type.',
    `total pending resources: ${resources.length}`,
    ...countByType(resources).map(([type, n]) => `${String(n).padStart(6)} @ ${type}`),
    '',
    'service state:',
    ...Object.entries(extra).map(([k, v]) => `${String(v).padStart(6)} ${k}`),
    '',
    `event loop (last window ${el.window_seconds} s): delay p50 ${el.delay_p50_ms} ms, p99 ${el.delay_p99_ms} ms, max ${el.delay_max_ms} ms; utilization ${el.utilization}`,
    '',
  ];
  return lines.join('\n');
}

/** JSON for `/debug/pprof/mutex`. */
export function mutexReport(eventLoop: EventLoopMonitor): Record<string, unknown> {
  return {
    explanation:
      'Node.js runs JavaScript on one thread and has no mutexes, so there is no lock contention to profile and no pprof mutex profile to return. ' +
      'The equivalent of contention is callbacks waiting for the busy event loop: event-loop delay (how late callbacks ran) and utilization (how busy the loop was). ' +
      'Use /debug/pprof/profile?seconds=N to see what kept the loop busy.',
    format: 'json (not pprof): go tool pprof cannot read this body',
    event_loop: eventLoop.stats(),
  };
}
