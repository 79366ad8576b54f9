/**
 * Display helpers. Money stays exact: prices and quantities are the service's decimal strings, and a
 * difference of prices (the spread) is computed in integer ticks and formatted back with the tick size.
 */

/** `ticks` × tickSize as an exact decimal string, e.g. formatTicks(15, "0.01") → "0.15". */
export function formatTicks(ticks: number, tickSize: string): string {
  const [whole = '0', frac = ''] = tickSize.split('.');
  const units = BigInt(whole + frac);
  const scale = frac.length;
  const v = BigInt(ticks) * units;
  const neg = v < 0n;
  const digits = (neg ? -v : v).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return neg ? `-${text}` : text;
}

export function timeOf(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export function isoTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString();
}

/** A number of milliseconds shown with at most 3 decimals. */
export function ms(v: number | undefined): string {
  return v === undefined ? '—' : `${Math.round(v * 1000) / 1000} ms`;
}
