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
}

export function replayTrace(options: { seed: number; instruments: readonly Instrument[]; scale?: number; clientOrderIdPrefix?: string }, trace: readonly TraceOp[], now: () => number): TraceReplayResult {
  const population = new Population(options);
  const agents = population.agents;
  const states = [...population.pairs.values()];
  // One reusable output array, as a driver uses it: each turn's commands are checked against the trace
  // right away (kind and client order id, a few comparisons per command, inside the timed loop so the
  // figure is conservative) and then dropped, so nothing generated is retained across turns.
  const out: SimCommand[] = [];
  let commands = 0;
  let mismatches = 0;
  const t0 = now();
  for (const op of trace) {
    switch (op.op) {
      case 'turn': {
        for (let i = 0; i < states.length; i++) {
          states[i]!.bestBid = op.best[2 * i];
          states[i]!.bestAsk = op.best[2 * i + 1];
        }
        out.length = 0;
        population.next(op.nowMs, out);
        commands += out.length;
        const expected = op.commands;
        if (out.length !== expected.length) mismatches++;
        else {
          for (let i = 0; i < out.length; i++) {
            const c = out[i]!;
            const e = expected[i]!;
            if (c.kind !== e.kind || c.clientOrderId !== e.clientOrderId) {
              mismatches++;
              break;
            }
          }
        }
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
  return { commands, mismatches, ms };
}
