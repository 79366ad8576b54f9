/**
 * Cluster-mode metrics (docs/cluster.md):
 *   trading_pair_owned{pair}                        gauge    1 while this replica serves the pair, else 0
 *   trading_ownership_changes_total{pair,reason}    counter  acquired | lease_lost | fenced | handed_over | released | recovery_failed
 */
import { Gauge, type Registry } from 'prom-client';
import type { OwnershipChange } from '../cluster/pair-ownership.ts';
import { CounterFamily } from './metric-families.ts';

const REASONS: readonly OwnershipChange[] = ['acquired', 'lease_lost', 'fenced', 'handed_over', 'released', 'recovery_failed'];

export class OwnershipMetrics {
  readonly changes = new CounterFamily<'pair' | 'reason'>('trading_ownership_changes_total', 'Changes of pair ownership on this replica, by pair and reason (acquired, lease_lost, fenced, handed_over, released, recovery_failed).', ['pair', 'reason']);

  constructor(registry: Registry, pairs: () => readonly string[], owned: (pair: string) => boolean) {
    this.changes.register(registry);
    for (const pair of pairs()) for (const reason of REASONS) this.changes.series({ pair, reason });
    new Gauge({
      name: 'trading_pair_owned',
      help: '1 while this replica owns and serves the pair (cluster mode), else 0.',
      labelNames: ['pair'],
      registers: [registry],
      collect() {
        for (const pair of pairs()) this.set({ pair }, owned(pair) ? 1 : 0);
      },
    });
  }

  changed(pair: string, reason: OwnershipChange): void {
    this.changes.series({ pair, reason }).inc();
  }
}
