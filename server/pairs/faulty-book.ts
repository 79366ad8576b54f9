/**
 * The fault-injection seam: an OrderBook decorator that makes a real book throw, diverge or slow down
 * on command. Tests and the chaos drills use this same seam (chaos endpoints exist only when enabled);
 * with no fault set it forwards every call unchanged.
 */
import type { Command } from '../core/commands.ts';
import type { EventSink } from '../core/events.ts';
import type { DepthLevel, OrderBook, Outcome, RestingOrder } from '../core/order-book.ts';
import type { OrderId, Side } from '../core/types.ts';

export type FaultKind = 'none' | 'throw' | 'diverge' | 'slow';

export interface Fault {
  kind: FaultKind;
  /** Fault every Nth command after the fault is set (1 = every command). @default 1 */
  everyNth?: number;
  /** For 'slow': how long each faulted command takes extra, in ms. @default 50 */
  delayMs?: number;
}

/** Mutable fault settings shared by every FaultyBook of one pair, so a fault survives a rebuild. */
export class FaultSwitch {
  private fault: Required<Fault> = { kind: 'none', everyNth: 1, delayMs: 50 };
  private counter = 0;

  set(fault: Fault): void {
    const everyNth = fault.everyNth ?? 1;
    const delayMs = fault.delayMs ?? 50;
    if (!Number.isSafeInteger(everyNth) || everyNth < 1) throw new RangeError('everyNth must be a positive integer');
    if (!(delayMs >= 0 && delayMs <= 60_000)) throw new RangeError('delayMs must be within 0..60000');
    this.fault = { kind: fault.kind, everyNth, delayMs };
    this.counter = 0;
  }

  clear(): void {
    this.set({ kind: 'none' });
  }

  get current(): Readonly<Required<Fault>> {
    return this.fault;
  }

  /** The fault to inject into the next command, or 'none'. */
  next(): Readonly<Required<Fault>> | undefined {
    if (this.fault.kind === 'none') return undefined;
    this.counter++;
    return this.counter % this.fault.everyNth === 0 ? this.fault : undefined;
  }
}

export class InjectedFaultError extends Error {
  constructor(detail: string) {
    super(`injected fault: ${detail}`);
    this.name = 'InjectedFaultError';
  }
}

/**
 * Wraps `inner`. 'diverge' reports one lot less on the command's level updates (the book itself stays
 * right, so a rebuild from the true state cures it, as with a real reporting bug); 'slow' calls
 * `delay(ms)` (a busy wait in drills, a manual clock advance in tests).
 */
export class FaultyBook implements OrderBook {
  constructor(
    private readonly inner: OrderBook,
    private readonly faults: FaultSwitch,
    private readonly delay: (ms: number) => void,
  ) {}

  get implementation() {
    return this.inner.implementation;
  }
  get instrument() {
    return this.inner.instrument;
  }

  apply(cmd: Command, out: EventSink): Outcome {
    const fault = this.faults.next();
    if (fault === undefined) return this.inner.apply(cmd, out);
    switch (fault.kind) {
      case 'throw':
        throw new InjectedFaultError('adaptive book threw');
      case 'slow':
        this.delay(fault.delayMs);
        return this.inner.apply(cmd, out);
      case 'diverge':
      default: {
        // A command with no level update (a rejection) still diverges: it reports a phantom level.
        let levels = 0;
        const skewed: EventSink = {
          accepted: (...a) => out.accepted(...a),
          rejected: (...a) => out.rejected(...a),
          fill: (...a) => out.fill(...a),
          cancelled: (...a) => out.cancelled(...a),
          replaced: (...a) => out.replaced(...a),
          level: (side, price, quantity, count) => {
            levels++;
            out.level(side, price, quantity + 1, count);
          },
        };
        const outcome = this.inner.apply(cmd, skewed);
        if (levels === 0) out.level(0, 1, 1, 1);
        return outcome;
      }
    }
  }

  getOrder(orderId: OrderId): RestingOrder | undefined {
    return this.inner.getOrder(orderId);
  }
  forEachOrder(side: Side, visit: (order: RestingOrder) => void): void {
    this.inner.forEachOrder(side, visit);
  }
  depth(side: Side, maxLevels: number): DepthLevel[] {
    return this.inner.depth(side, maxLevels);
  }
  bestPrice(side: Side): number | undefined {
    return this.inner.bestPrice(side);
  }
  size(): number {
    return this.inner.size();
  }
  load(orders: Iterable<RestingOrder>): void {
    this.inner.load(orders);
  }
  stateHash(): string {
    return this.inner.stateHash();
  }
  checkInvariants(): void {
    this.inner.checkInvariants();
  }
}
