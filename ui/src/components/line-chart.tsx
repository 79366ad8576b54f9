/** A small SVG line chart of several series over time (Operations: p95 per implementation, throughput). */
export interface Series {
  name: string;
  color: string;
  points: { at: number; v: number }[];
}

export function LineChart({ series, unit, label }: { series: Series[]; unit: string; label: string }) {
  const w = 520;
  const h = 150;
  const left = 56;
  const all = series.flatMap((s) => s.points);
  if (all.length < 2) return <p class="muted">collecting samples…</p>;
  const t0 = Math.min(...all.map((p) => p.at));
  const t1 = Math.max(...all.map((p) => p.at));
  const hi = Math.max(1e-9, ...all.map((p) => p.v)) * 1.1;
  const x = (at: number) => left + ((at - t0) / Math.max(1, t1 - t0)) * (w - left - 8);
  const y = (v: number) => 8 + (1 - v / hi) * (h - 28);
  const minutes = Math.max(1, Math.round((t1 - t0) / 60_000));
  return (
    <figure class="linechart">
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={label}>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={left} x2={w - 8} y1={y(hi * f)} y2={y(hi * f)} class="grid" />
            <text x={4} y={y(hi * f) + 4} class="axis">
              {Math.round(hi * f * 1000) / 1000}
              {unit}
            </text>
          </g>
        ))}
        <text x={left} y={h - 4} class="axis">
          −{minutes} min
        </text>
        <text x={w - 30} y={h - 4} class="axis">
          now
        </text>
        {series.map((s) => (
          <polyline key={s.name} fill="none" stroke={s.color} stroke-width="2" points={s.points.map((p) => `${x(p.at)},${y(p.v)}`).join(' ')} />
        ))}
      </svg>
      <figcaption>
        {series.map((s) => (
          <span key={s.name} class="legend">
            <i style={{ background: s.color }} /> {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
