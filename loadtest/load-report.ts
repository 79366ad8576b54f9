/**
 * The report of `npm run load`: the result as JSON, and one self-contained HTML page (inline SVG, no
 * scripts, no external files) with latency percentiles over time, throughput over time and the latency
 * distribution (HdrHistogram's percentile plot), under the runbook's 20 ms budget line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult } from './load-run.ts';

interface Series {
  name: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
}

interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  logY?: boolean;
  /** Custom x tick labels: [x, label]. */
  xTicks?: [number, string][];
  /** A horizontal reference line (e.g. the 20 ms budget). */
  hLine?: { y: number; label: string };
}

const W = 880;
const H = 320;
const M = { left: 70, right: 20, top: 52, bottom: 48 };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v: number): string => (v >= 1000 ? `${Math.round(v).toLocaleString('en')}` : v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2));

/** One SVG line chart. Y in log scale when asked (latencies), with decade ticks. */
export function lineChart(series: Series[], o: ChartOptions): string {
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]).concat(o.hLine ? [o.hLine.y] : []);
  const xMin = Math.min(...xs, 0);
  const xMax = Math.max(...xs, xMin + 1);
  const positive = ys.filter((y) => y > 0);
  const yMinRaw = o.logY ? Math.min(...positive, 1) : 0;
  const yMaxRaw = Math.max(...ys, 1);
  const yMin = o.logY ? 10 ** Math.floor(Math.log10(yMinRaw)) : 0;
  const yMax = o.logY ? 10 ** Math.ceil(Math.log10(yMaxRaw)) : yMaxRaw * 1.1;
  const px = (x: number): number => M.left + ((x - xMin) / (xMax - xMin)) * (W - M.left - M.right);
  const py = (y: number): number => {
    const f = o.logY ? (Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin)) : (y - yMin) / (yMax - yMin);
    return H - M.bottom - f * (H - M.top - M.bottom);
  };
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}">`);
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${M.left}" y="22" font-size="15" font-weight="600">${esc(o.title)}</text>`);
  // Y ticks.
  const yTicks: number[] = [];
  if (o.logY) for (let v = yMin; v <= yMax * 1.0001; v *= 10) yTicks.push(v);
  else for (let i = 0; i <= 5; i++) yTicks.push(yMin + ((yMax - yMin) * i) / 5);
  for (const v of yTicks) {
    const y = py(v);
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y + 4}" font-size="11" text-anchor="end">${fmt(v)}</text>`);
  }
  // X ticks.
  const xTicks = o.xTicks ?? Array.from({ length: 7 }, (_, i) => xMin + ((xMax - xMin) * i) / 6).map((v) => [v, fmt(v)] as [number, string]);
  for (const [v, label] of xTicks) {
    const x = px(v);
    parts.push(`<line x1="${x}" x2="${x}" y1="${M.top}" y2="${H - M.bottom}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${x}" y="${H - M.bottom + 16}" font-size="11" text-anchor="middle">${esc(label)}</text>`);
  }
  parts.push(`<text x="${(W + M.left) / 2}" y="${H - 10}" font-size="12" text-anchor="middle">${esc(o.xLabel)}</text>`);
  parts.push(`<text x="16" y="${(H + M.top - M.bottom) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 16 ${(H + M.top - M.bottom) / 2})">${esc(o.yLabel)}</text>`);
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#999"/>`);
  if (o.hLine) {
    const y = py(o.hLine.y);
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#d62728" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${W - M.right - 4}" y="${y - 4}" font-size="11" fill="#d62728" text-anchor="end">${esc(o.hLine.label)}</text>`);
  }
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
  }
  // Legend.
  let lx = M.left;
  for (const s of series) {
    parts.push(`<line x1="${lx}" x2="${lx + 18}" y1="38" y2="38" stroke="${s.color}" stroke-width="3"/>`);
    parts.push(`<text x="${lx + 22}" y="42" font-size="11">${esc(s.name)}</text>`);
    lx += 30 + s.name.length * 6.5;
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** Percentile p on the "nines" axis: 0 → 0, 90 → 1, 99 → 2, 99.9 → 3 ... */
const nines = (p: number): number => (p >= 100 ? 6 : -Math.log10(1 - p / 100));

export function renderHtml(r: LoadResult): string {
  const ms = (us: number): number => us / 1000;
  const perSec = r.per_second;
  const latencyChart = lineChart(
    [
      { name: 'p50', color: '#1f77b4', points: perSec.map((s) => [s.t, ms(s.p50)]) },
      { name: 'p90', color: '#2ca02c', points: perSec.map((s) => [s.t, ms(s.p90)]) },
      { name: 'p99', color: '#ff7f0e', points: perSec.map((s) => [s.t, ms(s.p99)]) },
      { name: 'max', color: '#7f7f7f', points: perSec.map((s) => [s.t, ms(s.max)]), dashed: true },
    ],
    { title: 'Latency percentiles over time (from the intended send time)', xLabel: 'seconds since start (orders due in that second)', yLabel: 'ms (log)', logY: true, hLine: { y: 20, label: 'runbook p95 budget 20 ms' } },
  );
  const throughputChart = lineChart(
    [
      { name: 'target/s', color: '#bbbbbb', points: perSec.map((s) => [s.t, r.target_per_sec]), dashed: true },
      { name: 'sent/s', color: '#1f77b4', points: perSec.map((s) => [s.t, s.sent]) },
      { name: 'answered/s', color: '#2ca02c', points: perSec.map((s) => [s.t, s.completed]) },
      { name: 'errors/s', color: '#d62728', points: perSec.map((s) => [s.t, s.errors]) },
    ],
    { title: 'Throughput over time', xLabel: 'seconds since start', yLabel: 'orders per second' },
  );
  const dist = r.distribution.filter((d) => d.percentile < 100);
  const distributionChart = lineChart([{ name: 'latency', color: '#9467bd', points: dist.map((d) => [nines(d.percentile), ms(d.latency_us)]) }], {
    title: 'Latency distribution (whole run)',
    xLabel: 'percentile',
    yLabel: 'ms (log)',
    logY: true,
    xTicks: [
      [0, '0%'],
      [1, '90%'],
      [2, '99%'],
      [3, '99.9%'],
      [4, '99.99%'],
      [5, '99.999%'],
    ],
    hLine: { y: 20, label: '20 ms' },
  });
  const l = r.latency_us;
  const row = (k: string, v: string): string => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`;
  const verdict = (ok: boolean): string => (ok ? '<b style="color:#2ca02c">met</b>' : '<b style="color:#d62728">NOT met</b>');
  const errorRows = Object.entries(r.errors.by_kind)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)
    .map(([k, v]) => row(k, String(v)))
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trading-service load ${esc(r.started_at)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:940px}table{border-collapse:collapse;margin:8px 0 20px}th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}th{font-weight:500;color:#555}svg{display:block;margin:12px 0 24px;border:1px solid #eee}</style>
</head><body>
<h1>Load run ${esc(r.started_at)}</h1>
<p>Open loop at <b>${r.target_per_sec.toLocaleString('en')}</b> orders/s for ${r.args.durationSeconds} s against ${esc(r.args.target)}
(mix ${esc(Object.entries(r.args.mix).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${Math.round(v * 100)} %`).join(', '))}, batch ${r.args.batch}).
Latency is measured from each order's intended send time (coordinated-omission corrected).</p>
<p>Runbook budgets: p95 &lt; 20 ms ${verdict(r.slo.p95_under_20ms)}; error rate &lt; 1 % ${verdict(r.slo.error_rate_under_1pct)}.</p>
<table>
${row('scheduled / answered / lost', `${r.scheduled} / ${r.completed} / ${r.lost}`)}
${row('achieved', `${r.achieved_per_sec.toLocaleString('en')} orders/s`)}
${row('latency p50 / p90 / p95 / p99 / p99.9 / max', [l.p50, l.p90, l.p95, l.p99, l.p999, l.max].map((v) => `${(v / 1000).toFixed(2)} ms`).join(' / '))}
${row('mean client send lag (included above)', `${(r.mean_send_lag_us / 1000).toFixed(2)} ms`)}
${row('unexpected errors', `${r.errors.unexpected} (${(r.error_rate * 100).toFixed(3)} %)`)}
${row('cancels of already-closed orders (expected)', String(r.errors.cancel_not_found))}
${row('load average before / after', `${r.load_average_before.join(' ')} / ${r.load_average_after.join(' ')}`)}
</table>
${latencyChart}
${throughputChart}
${distributionChart}
${errorRows ? `<h2>Errors by kind</h2><table>${errorRows}</table>` : ''}
</body></html>
`;
}

/** Writes `<out>/load-<stamp>.json` and `.html`; returns their paths. */
export function writeReport(r: LoadResult, outDir: string): { json: string; html: string } {
  mkdirSync(outDir, { recursive: true });
  const stamp = r.started_at.replace(/[:.]/g, '-');
  const json = join(outDir, `load-${stamp}.json`);
  const html = join(outDir, `load-${stamp}.html`);
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(html, renderHtml(r));
  return { json, html };
}
