/**
 * Load for the cluster suites: per pair a few workers submit crossing limit orders (so trades happen)
 * through the RoutingClient, each with its own client order id, and record every acknowledgement —
 * what the ledger check later requires to be in the database. A call that still fails after the client's
 * retries was never acknowledged: its fate is the service's to decide, once, which the ledger check's
 * duplicate and conservation checks cover.
 */
import { Metadata } from '@grpc/grpc-js';
import type { AckedOrder } from '../../chaos/ledger-check.ts';
import { ORDERS, RoutingClient } from '../../simulator/routing-client.ts';
import { limitOrder } from '../grpc-harness.ts';

export class ClusterLoad {
  readonly acked: AckedOrder[] = [];
  /** Ack times (Date.now()) per pair. */
  private readonly ackTimes = new Map<string, number[]>();
  failures = 0;
  private running = true;
  private readonly loops: Promise<void>[] = [];

  constructor(readonly client: RoutingClient) {}

  start(pairs: readonly string[], workersPerPair: number, concurrency: number, tag: string): void {
    for (const pair of pairs)
      for (let w = 0; w < workersPerPair; w++)
        for (let c = 0; c < concurrency; c++) this.loops.push(this.loop(pair, `acct-${pair}-${w}`, `${tag}-${pair}-${w}-${c}`));
  }

  acksOf(pair: string, sinceMs = 0): number {
    return (this.ackTimes.get(pair) ?? []).filter((t) => t >= sinceMs).length;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(pair: string, account: string, prefix: string): Promise<void> {
    const md = new Metadata();
    md.set('x-account-id', account);
    for (let n = 0; this.running; n++) {
      const clientOrderId = `${prefix}-${n}`;
      const side = n % 2 === 0 ? 'buy' : 'sell';
      const price = side === 'buy' ? `${100 + (n % 3)}.00` : `${99 + (n % 3)}.00`;
      try {
        const r = await this.client.call(ORDERS.submitOrder, limitOrder(side, price, '0.01', { pair, clientOrderId }), md, 8_000);
        this.acked.push({ pair, account, clientOrderId, orderId: r.response.order?.orderId });
        let times = this.ackTimes.get(pair);
        if (times === undefined) this.ackTimes.set(pair, (times = []));
        times.push(Date.now());
      } catch {
        this.failures++;
      }
    }
  }
}
