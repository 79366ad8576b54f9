/**
 * The journal as tracing sees it: every append() gets a `journal.commit` span, child of the span active
 * when the commands were recorded (the gRPC call that applied them; a group commit that carries several
 * calls' commands is parented to the first), from the append until the entries are durable (or the
 * append fails: error status). Only wrapped when tracing is on.
 */
import { SpanStatusCode, context, trace, type Tracer } from '@opentelemetry/api';
import type { DurableJournal } from '../durability/command-durability.ts';
import type { JournalEntry } from '../../ports/journal.ts';

export function tracedJournal<J extends DurableJournal>(journal: J, tracer: Tracer): J {
  const append = (entries: readonly JournalEntry[]): Promise<void> => {
    const active = context.active();
    if (trace.getSpan(active) === undefined) return journal.append(entries);
    const pairs = [...new Set(entries.map((e) => e.pair))];
    const span = tracer.startSpan('journal.commit', { attributes: { 'journal.entries': entries.length, 'trading.pairs': pairs } }, active);
    const p = journal.append(entries);
    p.then(
      () => span.end(),
      (err: unknown) => {
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        span.end();
      },
    );
    return p;
  };
  return new Proxy(journal, {
    get(target, prop, receiver) {
      if (prop === 'append') return append;
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
