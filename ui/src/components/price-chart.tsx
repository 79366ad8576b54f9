/**
 * Trades (dots: green where the taker bought, red where it sold) and the mid price (line) over the last
 * minutes, on a canvas redrawn at most once per animation frame with what the store holds (bounded rings).
 * Pixel positions are display-only floats; the axis labels are the exact decimal prices.
 */
import { useEffect, useRef } from 'preact/hooks';
import { formatTicks } from '../format.ts';
import type { Store } from '../store.ts';

const WINDOW_MS = 5 * 60_000;

export function PriceChart({ store }: { store: Store }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    const inst = store.instrument;
    if (c === null || inst === undefined) return;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth || 600;
    const h = c.clientHeight || 220;
    if (c.width !== Math.round(w * dpr)) c.width = Math.round(w * dpr);
    if (c.height !== Math.round(h * dpr)) c.height = Math.round(h * dpr);
    const g = c.getContext('2d');
    if (g === null) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const now = Date.now();
    const trades = store.chartTrades.toArray().filter((t) => t.ts >= now - WINDOW_MS);
    const mids = store.chartMid.toArray().filter((m) => m.ts >= now - WINDOW_MS);
    g.fillStyle = '#8a94a6';
    g.font = '11px system-ui, sans-serif';
    if (trades.length === 0 && mids.length === 0) {
      g.fillText('no trades or quotes yet', 12, h / 2);
      return;
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (const t of trades) {
      lo = Math.min(lo, t.t);
      hi = Math.max(hi, t.t);
    }
    for (const m of mids) {
      lo = Math.min(lo, m.t);
      hi = Math.max(hi, m.t);
    }
    if (hi - lo < 2) {
      hi += 1;
      lo -= 1;
    }
    const left = 70;
    const right = 8;
    const top = 8;
    const bottom = 18;
    const x = (ts: number) => left + ((ts - (now - WINDOW_MS)) / WINDOW_MS) * (w - left - right);
    const y = (t: number) => top + (1 - (t - lo) / (hi - lo)) * (h - top - bottom);
    g.strokeStyle = '#2a3242';
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const t = Math.round(lo + ((hi - lo) * i) / 4);
      g.beginPath();
      g.moveTo(left, y(t));
      g.lineTo(w - right, y(t));
      g.stroke();
      g.fillText(formatTicks(t, inst.tickSize), 4, y(t) + 4);
    }
    g.fillText('−5 min', left, h - 4);
    g.fillText('now', w - right - 22, h - 4);
    if (mids.length > 1) {
      g.strokeStyle = '#f5c542';
      g.lineWidth = 1.5;
      g.beginPath();
      mids.forEach((m, i) => (i === 0 ? g.moveTo(x(m.ts), y(m.t)) : g.lineTo(x(m.ts), y(m.t))));
      g.stroke();
    }
    for (const t of trades) {
      g.fillStyle = t.side === 'buy' ? '#2ecc71' : '#ff5c5c';
      g.beginPath();
      g.arc(x(t.ts), y(t.t), 2.5, 0, Math.PI * 2);
      g.fill();
    }
  });
  return <canvas ref={ref} class="chart" role="img" aria-label={`Price chart of ${store.pair}: trades and mid price over the last 5 minutes`} />;
}
