/**
 * Operator halt and maintenance mode: whether new orders and replaces may enter. Pure state with an
 * injected clock; the gRPC orders service asks `checkNewOrders()` before applying a submit or replace,
 * and the admin API flips it. Cancels, cancel-all and reads never consult it: an operator who halts
 * trading still wants clients to be able to pull their orders.
 */
import type { Clock } from '../ports/clock.ts';
import { UnavailableError } from './grpc/errors.ts';

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
}

const OFF: GateMode = Object.freeze({ on: false, since: null, by: null, reason: null });

export class TradingGate {
  private halt: GateMode = OFF;
  private maint: GateMode = OFF;

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

  /** Throws UNAVAILABLE (nothing applied) while halted or in maintenance; halt wins when both are on. */
  checkNewOrders(): void {
    if (this.halt.on) throw new UnavailableError('trading', `trading halted by operator since ${this.halt.since}; new orders and replaces are refused, cancels still work`);
    if (this.maint.on) throw new UnavailableError('trading', `maintenance mode since ${this.maint.since}; new orders and replaces are refused, cancels still work`);
  }

  status(): TradingGateStatus {
    return { accepting_new_orders: !this.halt.on && !this.maint.on, halted: { ...this.halt }, maintenance: { ...this.maint } };
  }

  private mode(by: string, reason: string): GateMode {
    return { on: true, since: new Date(this.clock.nowMs()).toISOString(), by, reason };
  }
}
