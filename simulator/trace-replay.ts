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
  /** Each turn's commands, compared with the trace after the timed loop (comparing is not generating). */
  const produced: SimCommand[][] = [];
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
        const cmds: SimCommand[] = [];
        population.next(op.nowMs, cmds);
        commands += cmds.length;
        produced.push(cmds);
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
  let turn = 0;
  for (const op of trace) {
    if (op.op !== 'turn') continue;
    const cmds = produced[turn++]!;
    if (cmds.length !== op.commands.length || cmds.some((c, i) => c.kind !== op.commands[i]!.kind || c.clientOrderId !== op.commands[i]!.clientOrderId)) mismatches++;
  }
  return { commands, mismatches, ms };
}
