/** The human-readable table of a drill run (chaos/results/*.md). */
import type { DrillResult } from './drill.ts';

const cell = (s: unknown): string => String(s ?? '—').replace(/\|/g, '\\|').replace(/\n/g, ' ');
const ms = (v: number | null): string => (v === null ? '—' : `${(v / 1000).toFixed(2)} s`);

export function renderMarkdown(doc: { at: string; totalMs: number; loadAverage: string; target: string | null; results: DrillResult[]; skipped: { drill: string; why: string }[] }): string {
  const lines = [
    `# Chaos drills — ${doc.at}`,
    '',
    `${doc.results.filter((r) => r.passed).length}/${doc.results.length} passed in ${(doc.totalMs / 1000).toFixed(1)} s; load average ${doc.loadAverage} (2 cores, shared)${doc.target ? `; target ${doc.target}` : ''}.`,
    '',
    '| drill | passed | threshold | tripped after | symptoms | mitigation | recovered after | acknowledged | lost | duplicated |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of doc.results) {
    lines.push(
      `| ${cell(r.drill)} | ${r.passed ? 'yes' : '**NO**'} | ${cell(r.threshold)} | ${r.tripped ? ms(r.trippedAfterMs) : '**not tripped**'} | ${cell(r.symptoms.slice(0, 6).join('<br>'))} | ${cell(r.mitigation)} | ${r.recovered ? ms(r.recoveredAfterMs) : '**not recovered**'} | ${cell(r.acknowledged)} | ${cell(r.lost)} | ${cell(r.duplicated)} |`,
    );
  }
  const failed = doc.results.filter((r) => r.failures.length > 0);
  if (failed.length > 0) {
    lines.push('', '## Failures', '');
    for (const r of failed) for (const f of r.failures) lines.push(`- ${r.drill}: ${cell(f)}`);
  }
  if (doc.skipped.length > 0) {
    lines.push('', '## Skipped', '');
    for (const s of doc.skipped) lines.push(`- ${s.drill}: ${s.why}`);
  }
  const withFigures = doc.results.filter((r) => Object.keys(r.figures).length > 0);
  if (withFigures.length > 0) {
    lines.push('', '## Figures', '');
    for (const r of withFigures) lines.push(`- ${r.drill}: \`${JSON.stringify(r.figures).slice(0, 600)}\``);
  }
  return `${lines.join('\n')}\n`;
}
