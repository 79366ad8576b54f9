/**
 * Exact decimal strings <-> whole multiples of a step (tick or lot). No floats: strings are parsed
 * digit by digit into bigint. Pure; throws nothing, returns a reason the caller turns into a field error.
 */

const DECIMAL = /^(\d{1,30})(?:\.(\d{1,18}))?$/;
const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

/** A non-negative decimal as an integer mantissa and a count of fraction digits: 12.50 → { units: 1250n, scale: 2 }. */
export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

export function parseDecimal(text: string): Decimal | undefined {
  const m = DECIMAL.exec(text);
  if (m === null) return undefined;
  const fraction = m[2] ?? '';
  return { units: BigInt(m[1] + fraction), scale: fraction.length };
}

function rescale(d: Decimal, scale: number): bigint {
  return d.units * 10n ** BigInt(scale - d.scale);
}

/** Result of turning a decimal string into a whole number of steps. */
export type StepsResult = { ok: true; steps: number } | { ok: false; reason: string };

/**
 * How many `step`s make `text`; fails when `text` is not a decimal, is not a whole multiple of the
 * step, or the count is not a safe integer.
 */
export function toSteps(text: string, step: Decimal, stepName: string): StepsResult {
  const fast = fastSteps(text, step);
  if (fast >= 0) return { ok: true, steps: fast };
  const value = parseDecimal(text);
  if (value === undefined) return { ok: false, reason: `must be a non-negative decimal string like "12.5", got ${JSON.stringify(text)}` };
  const scale = Math.max(value.scale, step.scale);
  const v = rescale(value, scale);
  const s = rescale(step, scale);
  if (v % s !== 0n) return { ok: false, reason: `${text} is not a multiple of the ${stepName} ${formatDecimal(step)}` };
  const steps = v / s;
  if (steps > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, reason: `${text} is too large` };
  return { ok: true, steps: Number(steps) };
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
/** Digits that always fit a safe integer (10^15 < 2^53). */
const FAST_DIGITS = 15;

/**
 * toSteps for the common case, in plain integer arithmetic: `text` matches DECIMAL with at most 15
 * digits, and the value and step rescaled to a common scale are safe integers of which the value is a
 * whole multiple. Returns the step count, or -1 for anything else (the BigInt path then decides and
 * words the reason), so results are the same as the BigInt path's.
 */
function fastSteps(text: string, step: Decimal): number {
  const n = text.length;
  if (n === 0 || n > FAST_DIGITS + 1 || step.units > MAX_SAFE_BIGINT) return -1;
  let units = 0;
  let intDigits = 0;
  let scale = -1; // -1 until the point is seen
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      units = units * 10 + (c - 48);
      if (scale >= 0) scale++;
      else intDigits++;
    } else if (c === 46 && scale < 0 && intDigits > 0) {
      scale = 0;
    } else {
      return -1;
    }
  }
  if (scale === 0) return -1; // "1." is not a decimal
  if (scale < 0) scale = 0;
  if (intDigits + scale > FAST_DIGITS || scale > 18) return -1;
  const common = Math.max(scale, step.scale);
  if (common > FAST_DIGITS) return -1;
  const v = units * POW10[common - scale]!;
  const s = Number(step.units) * POW10[common - step.scale]!;
  if (!Number.isSafeInteger(v) || !Number.isSafeInteger(s) || s === 0 || v % s !== 0) return -1;
  return v / s;
}

/** Formats `steps × step` exactly, without trailing zeros beyond the step's own scale. */
export function fromSteps(steps: number, step: Decimal): string {
  // Without BigInt when the product is a non-negative safe integer (every real price and quantity).
  if (steps >= 0 && step.units <= MAX_SAFE_BIGINT) {
    const units = steps * Number(step.units);
    if (Number.isSafeInteger(units)) return formatUnits(units, step.scale);
  }
  return formatDecimal({ units: BigInt(steps) * step.units, scale: step.scale });
}


/** `units` (a non-negative safe integer) with `scale` fraction digits; the same text as formatDecimal. */
function formatUnits(units: number, scale: number): string {
  if (scale === 0) return String(units);
  const digits = String(units).padStart(scale + 1, '0');
  return `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/**
 * `fromSteps` for one step with a bounded memo of recent step counts: prices cluster around the market
 * and quantities repeat, so a hot path formats each distinct value once instead of once per message.
 * Two generations (a young map filled until `capacity`, then it becomes the old one and a fresh young
 * map starts; hits in the old map are promoted): recent values stay, memory stays under 2 × capacity
 * entries, and no Map ever has entries deleted one by one (V8 keeps those as holes).
 */
export class StepFormatter {
  private young = new Map<number, string>();
  private old = new Map<number, string>();

  constructor(
    readonly step: Decimal,
    private readonly capacity = 2048,
  ) {}

  format(steps: number): string {
    let text = this.young.get(steps);
    if (text !== undefined) return text;
    text = this.old.get(steps) ?? fromSteps(steps, this.step);
    if (this.young.size >= this.capacity) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(steps, text);
    return text;
  }
}

export function formatDecimal(d: Decimal): string {
  if (d.scale === 0) return d.units.toString();
  const digits = d.units.toString().padStart(d.scale + 1, '0');
  return `${digits.slice(0, -d.scale)}.${digits.slice(-d.scale)}`;
}
