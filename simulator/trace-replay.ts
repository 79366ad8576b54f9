/**
 * The simulator's own cost, without the engine: a fresh Population with the same seed is fed, in order,
 * exactly what the agents saw in a traced in-process run (market view per turn, results, order events,
 * trades). Being deterministic, it must produce the same commands again; this checks that command by
 * command and times it. bench:simulator quotes this as the generation rate.
 */
import type { Instrument } from '../server/core/instrument.ts';
import type { TraceOp } from './in-process-driver.ts';
import { Population } from './population.ts';
import type { SimCommand } from './sim-types.ts';

export interface TraceReplayResult {
  commands: number;
  /** Turns whose commands differ from the trace (0 for a deterministic simulator). */
  mismatches: number;
  ms: number;
  /** CPU milliseconds of the timed loop by `cpuNow` (0 without it). */
  cpuMs: number;
}

export function replayTrace(options: { seed: number; instruments: readonly Instrument[]; scale?: number; clientOrderIdPrefix?: string }, trace: readonly TraceOp[], now: () => number, cpuNow?: () => number): TraceReplayResult {
  const population = new Population(options);
  const agents = population.agents;
  const states = [...population.pairs.values()];
  // One reusable output array, as a driver uses it. Each turn's commands are reduced to a 32-bit
  // fingerprint (kind, client order id, side, price, quantity; computed inside the timed loop, so the figure
  // is conservative) and dropped: nothing generated is retained, and the trace's own commands are only
  // read after the clock stops (comparing is not generating).
  const out: SimCommand[] = [];
  let turns = 0;
  for (const op of trace) if (op.op === 'turn') turns++;
  const fingerprints = new Int32Array(turns);
  let turn = 0;
  let commands = 0;
  const c0 = cpuNow?.() ?? 0;
  const t0 = now();
  for (const op of trace) {
    switch (op.op) {
      case 'turn': {
        for (let i = 0; i < states.length; i++) {
          states[i]!.bestBid = op.best[2 * i];
          states[i]!.bestAsk = op.best[2 * i + 1];
        }
        // Appended, not cleared per turn: `length = 0` drops the array's backing store, so every turn
        // would allocate a new one.
        if (out.length > 4096) out.length = 0;
        const before = out.length;
        population.next(op.nowMs, out);
        commands += out.length - before;
        fingerprints[turn++] = fingerprint(out, before);
        break;
      }
      case 'result':
        agents[op.agent]!.onResult(op.result);
        break;
      case 'event':
        agents[op.agent]!.onOrderEvent(op.event);
        break;
      case 'trade':
        population.addTrade(op.trade);
        break;
    }
  }
  const ms = now() - t0;
  const cpuMs = (cpuNow?.() ?? 0) - c0;
  let mismatches = 0;
  turn = 0;
  for (const op of trace) if (op.op === 'turn' && fingerprint(op.commands) !== fingerprints[turn++]) mismatches++;
  return { commands, mismatches, ms, cpuMs };
}

/** FNV-1a over one turn's commands (`cmds` from index `from`): count, then per command kind, client order id, side, price, quantity. */
export function fingerprint(cmds: readonly SimCommand[], from = 0): number {
  let h = Math.imul(0x811c9dc5 ^ (cmds.length - from), 0x01000193);
  for (let i = from; i < cmds.length; i++) {
    const c = cmds[i]!;
    h = Math.imul(h ^ (c.kind === 'submit' ? 1 : c.kind === 'cancel' ? 2 : 3), 0x01000193);
    const id = c.clientOrderId;
    for (let k = 0; k < id.length; k++) h = Math.imul(h ^ id.charCodeAt(k), 0x01000193);
    if (c.kind === 'submit') h = Math.imul(h ^ c.side ^ (c.quantity << 1), 0x01000193);
    if (c.kind !== 'cancel') {
      h = Math.imul(h ^ c.price, 0x01000193);
      h = Math.imul(h ^ c.quantity, 0x01000193);
    }
  }
  return h | 0;
}
