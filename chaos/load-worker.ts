/**
 * The simulator's gRPC driver in a process of its own (forked by load.ts), so the load generator's event
 * loop never starves the drill's: the operator's view (health polls, the health script) and the load
 * compete only for CPU, as an operator's tools and real clients would. Speaks over the fork IPC channel:
 * parent → { type: 'start', ... } | { type: 'stop' }; child → 'started' | 'progress' | 'stopped' | 'error'.
 * Exits when the parent goes away.
 */
import { startGrpcSimulation, type SimulationHandle } from '../simulator/grpc-driver.ts';
import { formatSummary } from '../simulator/report.ts';
import type { LoadOptions, LoadOutcome } from './load.ts';

export interface StartMessage {
  type: 'start';
  target: string;
  adminUrl: string;
  adminToken?: string;
  options: LoadOptions;
  runTag: string;
}

const send = (m: unknown): void => {
  process.send?.(m);
};

let handle: SimulationHandle | undefined;
let ticker: NodeJS.Timeout | undefined;

process.on('disconnect', () => process.exit(0));
process.on('message', (m: StartMessage | { type: 'stop' }) => {
  if (m.type === 'start') {
    const o = m.options;
    startGrpcSimulation({
      target: m.target,
      adminUrl: m.adminUrl,
      ...(m.adminToken ? { adminToken: m.adminToken } : {}),
      seed: o.seed,
      ratePerSecond: o.rate,
      pairs: [...o.pairs],
      durationMs: o.maxDurationMs,
      accountPrefix: `${m.runTag}-s${o.seed}-`,
      clientOrderIdPrefix: `${m.runTag}-s${o.seed}`.slice(0, 40),
      drainTimeoutMs: 3_000,
      sampleEveryMs: 250,
    }).then(
      (h) => {
        handle = h;
        send({ type: 'started' });
        ticker = setInterval(() => {
          const p = h.progress();
          send({ type: 'progress', progress: { sent: p.sent, acknowledged: p.acknowledged, errorsByCode: p.errorsByCode } });
        }, 200);
      },
      (err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
    );
  } else if (m.type === 'stop') {
    if (ticker !== undefined) clearInterval(ticker);
    if (handle === undefined) {
      send({ type: 'error', message: 'stop before start' });
      return;
    }
    handle.stop().then(
      (report) => {
        const ledger = report.ledger;
        const outcome: LoadOutcome = {
          acked: (ledger?.orders ?? []).map((x) => ({ pair: x.pair, account: x.account, clientOrderId: x.clientOrderId, orderId: x.orderId, cancelAcked: x.cancelled, tradeIds: x.tradeIds })),
          commands: report.commands.sent,
          acknowledgedCommands: report.commands.acknowledged,
          errorsByCode: report.errorsByCode,
          ackLatencyMs: { p50: report.ackLatencyMs.p50, p99: report.ackLatencyMs.p99 },
          summary: formatSummary(report),
        };
        send({ type: 'stopped', outcome });
      },
      (err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
    );
  }
});
