/**
 * Operator halt and maintenance mode: whether new orders and replaces may enter. Pure state with an
 * injected clock, owned by the control plane (PairControls); the gRPC adapter asks `refusal()` before
 * applying a submit or replace and answers UNAVAILABLE with it. Cancels, cancel-all and reads never
 * consult it: an operator who halts trading still wants clients to be able to pull their orders.
 * Besides the halt of every pair, one pair can be halted alone (POST /admin/instruments/PAIR/halt).
 */
import type { Clock } from '../ports/clock.ts';

export interface GateMode {
  on: boolean;
  /** ISO time it was switched on; null while off. */
  since: string | null;
  by: string | null;
  reason: string | null;
}

export interface TradingGateStatus {
  accepting_new_orders: boolean;
  halted: GateMode;
  maintenance: GateMode;
  /** Pairs halted alone (their new orders refused, the other pairs trade). */
  halted_pairs: (GateMode & { pair: string })[];
}

const OFF: GateMode = Object.freeze({ on: false, since: null, by: null, reason: null });

export class TradingGate {
  private halt: GateMode = OFF;
  private maint: GateMode = OFF;
  /** Pairs halted alone, with who, why and since when. */
  private readonly pairHalts = new Map<string, GateMode>();

  constructor(private readonly clock: Clock) {}

  get isHalted(): boolean {
    return this.halt.on;
  }

  get isInMaintenance(): boolean {
    return this.maint.on;
  }

  /** Halts new orders; a second halt keeps the first `since`. Returns true if this call changed the state. */
  haltTrading(by: string, reason: string): boolean {
    if (this.halt.on) return false;
    this.halt = this.mode(by, reason);
    return true;
  }

  resumeTrading(): boolean {
    if (!this.halt.on) return false;
    this.halt = OFF;
    return true;
  }

  /** Halts new orders of one pair; returns true if this call changed the state. */
  haltPair(pair: string, by: string, reason: string, since?: string): boolean {
    if (this.pairHalts.has(pair)) return false;
    this.pairHalts.set(pair, since === undefined ? this.mode(by, reason) : { on: true, since, by, reason });
    return true;
  }

  resumePair(pair: string): boolean {
    return this.pairHalts.delete(pair);
  }

  /** The halt of one pair (off when it trades). */
  pairHalt(pair: string): GateMode {
    return { ...(this.pairHalts.get(pair) ?? OFF) };
  }

  /** Pairs halted alone. */
  haltedPairs(): string[] {
    return [...this.pairHalts.keys()];
  }

  enableMaintenance(by: string, reason: string): boolean {
    if (this.maint.on) return false;
    this.maint = this.mode(by, reason);
    return true;
  }

  disableMaintenance(): boolean {
    if (!this.maint.on) return false;
    this.maint = OFF;
    return true;
  }

  /**
   * Why new orders and replaces are refused now (the UNAVAILABLE message), or undefined while they are
   * accepted; halt wins when both are on, then maintenance, then a halt of `pair` alone.
   */
  refusal(pair?: string): string | undefined {
    if (this.halt.on) return `trading halted by operator since ${this.halt.since}; new orders and replaces are refused, cancels still work`;
    if (this.maint.on) return `maintenance mode since ${this.maint.since}; new orders and replaces are refused, cancels still work`;
    if (pair === undefined || this.pairHalts.size === 0) return undefined;
    const h = this.pairHalts.get(pair);
    if (h !== undefined) return `trading of ${pair} halted by operator since ${h.since}; new orders and replaces of ${pair} are refused, cancels still work`;
    return undefined;
  }

  status(): TradingGateStatus {
    return {
      accepting_new_orders: !this.halt.on && !this.maint.on,
      halted: { ...this.halt },
      maintenance: { ...this.maint },
      halted_pairs: [...this.pairHalts].map(([pair, m]) => ({ pair, ...m })),
    };
  }

  private mode(by: string, reason: string): GateMode {
    return { on: true, since: new Date(this.clock.nowMs()).toISOString(), by, reason };
  }
}
