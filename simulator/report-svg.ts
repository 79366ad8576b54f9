/**
 * The picture of a run, as a self-contained SVG: per pair, the fair value, best bid and best ask over
 * time with the trades as dots (green: buyer took, red: seller took); at the bottom, ack latency per
 * second (p50, p99, max) on a log scale. Plot coordinates are pixels (floats are fine for drawing);
 * every label is formatted from integer ticks, so the numbers shown are exact.
 */
import { fromSteps } from '../server/core/decimal.ts';
import type { Instrument } from '../server/core/instrument.ts';
import type { SimulationReport } from './report.ts';

const WIDTH = 1000;
const PANEL_HEIGHT = 260;
const LEFT = 90;
const RIGHT = 20;
const TOP = 30;
const BOTTOM = 30;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function path(points: readonly (readonly [number, number] | undefined)[]): string {
  let d = '';
  let pen = false;
  for (const p of points) {
    if (p === undefined) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${p[0].toFixed(1)},${p[1].toFixed(1)}`;
    pen = true;
  }
  return d;
}

export function renderReportSvg(report: SimulationReport, instruments: ReadonlyMap<string, Instrument>): string {
  const pairs = Object.keys(report.timeline.markets);
  const panels = pairs.length + 1;
  const height = panels * (PANEL_HEIGHT + TOP + BOTTOM) + 40;
  const durationMs = Math.max(1, report.durationMs);
  const plotW = WIDTH - LEFT - RIGHT;
  const x = (tMs: number) => LEFT + (Math.min(tMs, durationMs) / durationMs) * plotW;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(
    `<text x="${LEFT}" y="20" font-size="14" font-weight="bold">${esc(`trading-service simulator — ${report.driver}, seed ${report.seed}, ${report.ratePerSecond}/s offered, ${(report.durationMs / 1000).toFixed(1)} s, ${report.commands.sent} commands`)}</text>`,
  );
  let top = 40;
  const xAxis = (y0: number) => {
    const ticks = 6;
    for (let i = 0; i <= ticks; i++) {
      const t = (durationMs * i) / ticks;
      parts.push(`<line x1="${x(t)}" y1="${y0}" x2="${x(t)}" y2="${y0 + 4}" stroke="#333"/><text x="${x(t)}" y="${y0 + 16}" text-anchor="middle">${(t / 1000).toFixed(1)} s</text>`);
    }
  };
  for (const pair of pairs) {
    const inst = instruments.get(pair)!;
    const { samples, trades } = report.timeline.markets[pair]!;
    const values: number[] = [];
    for (const s of samples) {
      values.push(s.fair);
      if (s.bid !== undefined) values.push(s.bid);
      if (s.ask !== undefined) values.push(s.ask);
    }
    for (const t of trades) values.push(t.price);
    let lo = values.length ? Math.min(...values) : 0;
    let hi = values.length ? Math.max(...values) : 1;
    if (hi === lo) {
      hi += 1;
      lo -= 1;
    }
    const pad = Math.ceil((hi - lo) * 0.05);
    lo -= pad;
    hi += pad;
    const y0 = top + TOP;
    const y = (ticks: number) => y0 + PANEL_HEIGHT - ((ticks - lo) / (hi - lo)) * PANEL_HEIGHT;
    parts.push(`<text x="${LEFT}" y="${y0 - 8}" font-weight="bold">${esc(pair)}: fair value (black), best bid (blue), best ask (orange), trades (dots)</text>`);
    parts.push(`<rect x="${LEFT}" y="${y0}" width="${plotW}" height="${PANEL_HEIGHT}" fill="none" stroke="#999"/>`);
    for (let i = 0; i <= 4; i++) {
      const ticks = Math.round(lo + ((hi - lo) * i) / 4);
      parts.push(`<text x="${LEFT - 6}" y="${y(ticks) + 4}" text-anchor="end">${fromSteps(ticks, inst.tick)}</text><line x1="${LEFT}" y1="${y(ticks)}" x2="${LEFT + plotW}" y2="${y(ticks)}" stroke="#eee"/>`);
    }
    parts.push(`<path d="${path(samples.map((s) => (s.bid === undefined ? undefined : [x(s.tMs), y(s.bid)] as const)))}" fill="none" stroke="#1f77b4" stroke-width="1"/>`);
    parts.push(`<path d="${path(samples.map((s) => (s.ask === undefined ? undefined : [x(s.tMs), y(s.ask)] as const)))}" fill="none" stroke="#ff7f0e" stroke-width="1"/>`);
    parts.push(`<path d="${path(samples.map((s) => [x(s.tMs), y(s.fair)] as const))}" fill="none" stroke="black" stroke-width="1.5"/>`);
    for (const t of trades) parts.push(`<circle cx="${x(t.tMs).toFixed(1)}" cy="${y(t.price).toFixed(1)}" r="1.6" fill="${t.takerSide === 'buy' ? '#2ca02c' : '#d62728'}" fill-opacity="0.6"/>`);
    xAxis(y0 + PANEL_HEIGHT);
    top += PANEL_HEIGHT + TOP + BOTTOM;
  }
  // Latency panel (log scale).
  const lat = report.timeline.latency;
  const y0 = top + TOP;
  const maxMs = Math.max(1, ...lat.map((p) => p.maxMs));
  const minMs = 0.05;
  const ly = (ms: number) => y0 + PANEL_HEIGHT - ((Math.log10(Math.max(ms, minMs)) - Math.log10(minMs)) / (Math.log10(maxMs * 1.2) - Math.log10(minMs))) * PANEL_HEIGHT;
  parts.push(`<text x="${LEFT}" y="${y0 - 8}" font-weight="bold">ack latency from intended send time, per second: p50 (green), p99 (purple), max (grey), log scale</text>`);
  parts.push(`<rect x="${LEFT}" y="${y0}" width="${plotW}" height="${PANEL_HEIGHT}" fill="none" stroke="#999"/>`);
  for (const ms of [0.1, 1, 10, 100, 1000, 10000]) {
    if (ms > maxMs * 1.2) break;
    parts.push(`<text x="${LEFT - 6}" y="${ly(ms) + 4}" text-anchor="end">${ms} ms</text><line x1="${LEFT}" y1="${ly(ms)}" x2="${LEFT + plotW}" y2="${ly(ms)}" stroke="#eee"/>`);
  }
  const lx = (tSec: number) => x(tSec * 1000 + 500);
  parts.push(`<path d="${path(lat.map((p) => [lx(p.tSec), ly(p.maxMs)] as const))}" fill="none" stroke="#999" stroke-width="1"/>`);
  parts.push(`<path d="${path(lat.map((p) => [lx(p.tSec), ly(p.p99Ms)] as const))}" fill="none" stroke="#9467bd" stroke-width="1.5"/>`);
  parts.push(`<path d="${path(lat.map((p) => [lx(p.tSec), ly(p.p50Ms)] as const))}" fill="none" stroke="#2ca02c" stroke-width="1.5"/>`);
  xAxis(y0 + PANEL_HEIGHT);
  parts.push('</svg>');
  return parts.join('\n');
}
