/**
 * Journal (PostgreSQL group commit) metrics. Per write attempt, not per command: one commit-latency
 * observation and one batch-size observation per transaction (`onWrite`). Backlog, outage state and each
 * pair's lag (commands applied but not yet durable) are read at scrape time.
 *   trading_journal_commit_duration_seconds   histogram  one write attempt (connect + statement/transaction)
 *   trading_journal_batch_entries             histogram  entries per write attempt
 *   trading_journal_writes_total{result}      counter    committed | failed
 *   trading_journal_backlog_entries           gauge      queued, not yet committed
 *   trading_journal_available                 gauge      1, or 0 during an outage (commands refused)
 *   trading_journal_lag_commands{pair}        gauge      applied sequence − durable sequence
 */
import { Gauge, type Registry } from 'prom-client';
import type { JournalStatus } from '../../ports/journal.ts';
import { CounterFamily, HistogramFamily } from './metric-families.ts';

export const JOURNAL_COMMIT_BUCKETS_SECONDS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 5];
export const JOURNAL_BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

/** What the metrics read from the journal; `onWrite` is PostgresJournal's (absent on other journals). */
export interface ObservableJournal {
  status(): JournalStatus;
  onWrite?(listener: (entries: number, seconds: number, committed: boolean) => void): () => void;
}

export interface JournalMetricsSources {
  journal: ObservableJournal;
  /** Per pair: the applied and the durable command sequence. */
  pairSequences(): Iterable<{ pair: string; applied: number; durable: number }>;
}

export class JournalMetrics {
  readonly commit = new HistogramFamily<never>('trading_journal_commit_duration_seconds', 'Time one journal write attempt took (connect, statement or transaction, commit), in seconds.', [], JOURNAL_COMMIT_BUCKETS_SECONDS);
  readonly batch = new HistogramFamily<never>('trading_journal_batch_entries', 'Journal entries (commands) per write attempt (group commit batch size).', [], JOURNAL_BATCH_BUCKETS);
  readonly writes = new CounterFamily<'result'>('trading_journal_writes_total', 'Journal write attempts, by result (committed, failed).', ['result']);
  private readonly unsubscribe: () => void;

  constructor(registry: Registry, sources: JournalMetricsSources) {
    for (const f of [this.commit, this.batch, this.writes]) f.register(registry);
    const commit = this.commit.series({});
    const batch = this.batch.series({});
    const committed = this.writes.series({ result: 'committed' });
    const failed = this.writes.series({ result: 'failed' });
    this.unsubscribe =
      sources.journal.onWrite?.((entries, seconds, ok) => {
        commit.observe(seconds);
        batch.observe(entries);
        (ok ? committed : failed).inc();
      }) ?? (() => {});
    const registers = [registry];
    new Gauge({
      name: 'trading_journal_backlog_entries',
      help: 'Journal entries queued and not yet committed.',
      registers,
      collect() {
        this.set(sources.journal.status().pendingEntries);
      },
    });
    new Gauge({
      name: 'trading_journal_available',
      help: '1 while journal writes succeed; 0 during an outage (new commands are refused with UNAVAILABLE).',
      registers,
      collect() {
        this.set(sources.journal.status().available ? 1 : 0);
      },
    });
    new Gauge({
      name: 'trading_journal_lag_commands',
      help: 'Commands the pair applied that are not yet durable (applied sequence minus durable sequence).',
      labelNames: ['pair'],
      registers,
      collect() {
        this.reset(); // a delisted pair's series goes with it
        for (const s of sources.pairSequences()) this.set({ pair: s.pair }, Math.max(0, s.applied - s.durable));
      },
    });
  }

  close(): void {
    this.unsubscribe();
  }
}
