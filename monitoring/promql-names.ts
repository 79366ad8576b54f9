/**
 * The metric names a PromQL expression reads, without a PromQL parser: strings, label matchers `{...}`,
 * grouping clauses `by (...)` / `on (...)` and durations are removed, then every identifier that is not
 * a function call, keyword or number is a metric (or recording rule) name. Enough for the expressions in
 * monitoring/ (checked by test/monitoring.test.ts); not a general PromQL tool.
 */
const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\w+/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = m[0];
    const after = s.slice(m.index! + name.length).trimStart();
    if (after.startsWith('(')) continue; // a function
    if (KEYWORDS.has(name.toLowerCase())) continue;
    if (/^\d/.test(name) || /^[eE]\d/.test(name)) continue;
    names.add(name);
  }
  return [...names].sort();
}

/** A histogram's `_bucket`/`_sum`/`_count` series belong to the family named without the suffix. */
export function familyName(name: string): string {
  return name.replace(/_(bucket|sum|count)$/, '');
}
