/**
 * Human-readable log lines for a terminal, from pino's JSON lines, without a dependency:
 *   12:03:04.567 INFO  recovery: 3 pairs, 0 journal entries replayed  pair=BTCUSDT event=recovery
 * Levels coloured (ANSI) when `color`; an error's stack follows on indented lines.
 */
const LEVEL_COLOR: Record<string, string> = { trace: '90', debug: '36', info: '32', warn: '33', error: '31', fatal: '35' };
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'err']);

function value(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

export function formatPretty(line: string, color: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = String(o['level'] ?? 'info');
  const time = typeof o['time'] === 'string' ? o['time'].slice(11, 23) : '';
  const tag = level.toUpperCase().padEnd(5);
  const fields = Object.entries(o)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
  let out = `${time} ${color ? `\x1b[${LEVEL_COLOR[level] ?? '0'}m${tag}\x1b[0m` : tag} ${String(o['msg'] ?? '')}${fields ? `  ${color ? `\x1b[90m${fields}\x1b[0m` : fields}` : ''}\n`;
  const err = o['err'] as { stack?: string; message?: string } | undefined;
  if (err !== undefined) out += `${(err.stack ?? err.message ?? JSON.stringify(err)).replace(/^/gm, '    ')}\n`;
  return out;
}

/** A pino destination writing formatted lines to `out` (synchronously, like pino's own sync destination). */
export function prettyDestination(out: { write(s: string): unknown }, color: boolean): { write(line: string): void } {
  return {
    write(line: string) {
      out.write(formatPretty(line, color));
    },
  };
}
