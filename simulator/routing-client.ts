/**
 * A client for a cluster of replicas (docs/cluster.md): connect to any of them, keep a pair → owner map
 * from the answers and from `/admin/cluster/status`, and send each call to the pair's owner.
 *
 * The contract it relies on (orders.proto, market_data.proto): a call for a pair this replica does not
 * own is refused with UNAVAILABLE before anything is applied, with trailing metadata `x-pair-owner`
 * (replica id) and `x-pair-owner-address` (its gRPC host:port); while the pair has no owner (hand-over)
 * `x-pair-owner` is absent and `x-retry-after-ms` says when to try again. The client then retries at the
 * owner, or after the hint — bounded by `maxAttempts` and the call's deadline. An UNAVAILABLE without
 * those (a replica died, the pair left it mid-call: "fate unknown") is retried too: every call this
 * client retries is safe to repeat (a submit carries its client_order_id, idempotent; cancels and reads
 * are idempotent by nature).
 */
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { OrdersServiceClient, type SubmitOrderRequest, type SubmitOrderResponse } from '../server/adapters/grpc/generated/trading/v1/orders.ts';

const OWNER = 'x-pair-owner';
const OWNER_ADDRESS = 'x-pair-owner-address';
const RETRY_AFTER = 'x-retry-after-ms';

export interface RoutingClientOptions {
  /** gRPC host:port of every replica known at start (at least one). */
  targets: readonly string[];
  /** Admin base URLs (http://host:port) whose /admin/cluster/status seeds and refreshes the map. @default none */
  adminUrls?: readonly string[];
  /** ADMIN_TOKEN for those. @default none */
  adminToken?: string;
  /** Attempts per call, first included. @default 40 */
  maxAttempts?: number;
  /** Longest wait between attempts while a pair has no owner. @default 500 */
  maxBackoffMs?: number;
  /**
   * Longest one attempt may take before it is abandoned and retried (a paused or partitioned replica
   * holds calls without answering). @default 2000
   */
  attemptTimeoutMs?: number;
}

/** A routed call's answer, how many attempts it took and which replica gave it. */
export interface RoutedOutcome<R> {
  response: R;
  attempts: number;
  target: string;
}

type UnaryMethod<Req, Res> = (client: OrdersServiceClient, req: Req, md: Metadata, deadline: Date, cb: (err: ServiceError | null, res: Res) => void) => void;

/** OrdersService's pair-scoped unary methods, as the routing client calls them. */
export const ORDERS = {
  submitOrder: ((c, req, md, deadline, cb) => c.submitOrder(req, md, { deadline }, cb)) as UnaryMethod<SubmitOrderRequest, SubmitOrderResponse>,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class RoutingClient {
  private readonly owners = new Map<string, string>();
  private readonly clients = new Map<string, OrdersServiceClient>();
  private readonly targets: string[];
  private next = 0;

  constructor(private readonly o: RoutingClientOptions) {
    if (o.targets.length === 0) throw new Error('RoutingClient needs at least one target');
    this.targets = [...o.targets];
  }

  /** The replica address the map holds for `pair`, if any. */
  ownerOf(pair: string): string | undefined {
    return this.owners.get(pair);
  }

  /** Reads /admin/cluster/status of the first admin URL that answers and takes its owners. */
  async refresh(): Promise<boolean> {
    for (const url of this.o.adminUrls ?? []) {
      try {
        const res = await fetch(`${url}/admin/cluster/status`, { headers: this.o.adminToken === undefined ? {} : { authorization: `Bearer ${this.o.adminToken}` }, signal: AbortSignal.timeout(2000) });
        if (!res.ok) continue;
        const s = (await res.json()) as { replicas?: { replica_id: string; grpc_address: string; live: boolean }[]; pairs?: { pair: string; owner: string | null; lease_remaining_ms: number }[] };
        const address = new Map((s.replicas ?? []).filter((r) => r.live).map((r) => [r.replica_id, r.grpc_address]));
        for (const a of address.values()) if (!this.targets.includes(a)) this.targets.push(a);
        for (const p of s.pairs ?? []) {
          const a = p.owner === null || p.lease_remaining_ms <= 0 ? undefined : address.get(p.owner);
          if (a === undefined) this.owners.delete(p.pair);
          else this.owners.set(p.pair, a);
        }
        return true;
      } catch {
        // next URL
      }
    }
    return false;
  }

  /** Calls `method` for `req.pair` at its owner, following refusals; rejects with the last error when out of attempts or time. */
  async call<Req extends { pair: string }, Res>(method: UnaryMethod<Req, Res>, req: Req, md: Metadata = new Metadata(), timeoutMs = 10_000): Promise<RoutedOutcome<Res>> {
    const deadline = Date.now() + timeoutMs;
    const maxAttempts = this.o.maxAttempts ?? 40;
    let last: ServiceError | undefined;
    for (let attempt = 1; attempt <= maxAttempts && Date.now() < deadline; attempt++) {
      const target = this.owners.get(req.pair) ?? this.targets[this.next++ % this.targets.length]!;
      try {
        const attemptDeadline = new Date(Math.min(deadline, Date.now() + (this.o.attemptTimeoutMs ?? 2000)));
        const response = await new Promise<Res>((resolve, reject) => method(this.client(target), req, md, attemptDeadline, (err, res) => (err ? reject(err) : resolve(res))));
        this.owners.set(req.pair, target);
        return { response, attempts: attempt, target };
      } catch (err) {
        const e = err as ServiceError;
        // DEADLINE_EXCEEDED of one attempt: the replica did not answer in time (paused, partitioned).
        if (e.code !== status.UNAVAILABLE && !(e.code === status.DEADLINE_EXCEEDED && Date.now() < deadline)) throw e;
        last = e;
        const owner = e.metadata?.get(OWNER)[0];
        const address = e.metadata?.get(OWNER_ADDRESS)[0];
        if (owner !== undefined && typeof address === 'string' && address !== target) {
          this.owners.set(req.pair, address);
          if (!this.targets.includes(address)) this.targets.push(address);
          continue; // straight to the owner
        }
        this.owners.delete(req.pair);
        const hint = Number(e.metadata?.get(RETRY_AFTER)[0] ?? NaN);
        await sleep(Math.min(Number.isFinite(hint) ? hint : 100 * attempt, this.o.maxBackoffMs ?? 500, Math.max(0, deadline - Date.now())));
        if ((this.o.adminUrls?.length ?? 0) > 0) await this.refresh();
      }
    }
    throw last ?? new Error(`no attempt made for ${req.pair}`);
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private client(target: string): OrdersServiceClient {
    let c = this.clients.get(target);
    if (c === undefined) this.clients.set(target, (c = new OrdersServiceClient(target, credentials.createInsecure())));
    return c;
  }
}
