/**
 * The load a drill runs against the service: the market simulator's gRPC driver (simulator/grpc-driver.ts),
 * its agents trading over OrderFlow/batches with API keys made through the admin API, every acknowledged
 * command in its ledger by client order id. This module only adapts the simulator's handle to what the
 * drills need; it generates no orders itself.
 */
import { startGrpcSimulation } from '../simulator/grpc-driver.ts';
import { formatSummary } from '../simulator/report.ts';
import type { AckedOrder } from './ledger-check.ts';

export interface LoadOptions {
  pairs: readonly string[];
  /** Offered commands per second over all agents. */
  rate: number;
  seed: number;
  /** Upper bound on the run; drills stop it earlier. */
  maxDurationMs: number;
}

export interface LoadProgress {
  sent: number;
  acknowledged: number;
  errorsByCode: Record<string, number>;
}

export interface LoadOutcome {
  /** Acknowledged orders with their acknowledged cancels and fills. */
  acked: AckedOrder[];
  commands: number;
  acknowledgedCommands: number;
  errorsByCode: Record<string, number>;
  /** Client-side ack latency (from the intended send time), when the simulator reports it. */
  ackLatencyMs?: { p50: number; p99: number };
  summary: string;
}

export interface LoadHandle {
  progress(): LoadProgress;
  stop(): Promise<LoadOutcome>;
}


/** Starts the simulator's gRPC driver against `target` (API keys created through `adminUrl`). */
export async function startSimulatorLoad(target: string, adminUrl: string, options: LoadOptions, runTag: string, adminToken?: string): Promise<LoadHandle> {
  const handle = await startGrpcSimulation({
    target,
    adminUrl,
    ...(adminToken ? { adminToken } : {}),
    seed: options.seed,
    ratePerSecond: options.rate,
    pairs: [...options.pairs],
    durationMs: options.maxDurationMs,
    accountPrefix: `${runTag}-s${options.seed}-`,
    clientOrderIdPrefix: `${runTag}-s${options.seed}`.slice(0, 40),
    drainTimeoutMs: 3_000,
    sampleEveryMs: 250,
  });
  let stopped: Promise<LoadOutcome> | undefined;
  return {
    progress: () => {
      const p = handle.progress();
      return { sent: p.sent, acknowledged: p.acknowledged, errorsByCode: p.errorsByCode };
    },
    stop: () =>
      (stopped ??= handle.stop().then((report) => {
        const ledger = report.ledger;
        const acked = (ledger?.orders ?? []).map((o) => ({ pair: o.pair, account: o.account, clientOrderId: o.clientOrderId, orderId: o.orderId, cancelAcked: o.cancelled, tradeIds: o.tradeIds }));
        return {
          acked,
          commands: report.commands.sent,
          acknowledgedCommands: report.commands.acknowledged,
          errorsByCode: report.errorsByCode,
          ackLatencyMs: { p50: report.ackLatencyMs.p50, p99: report.ackLatencyMs.p99 },
          summary: formatSummary(report),
        };
      })),
  };
}
