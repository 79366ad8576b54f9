/**
 * The journal's fence before the replica's ownership exists: the journal is opened (with its fence)
 * before the service that owns pairs is built, so the fence answers "not owned" until bound to it.
 */
import type { JournalFence } from '../../ports/journal.ts';

export class BindableFence implements JournalFence {
  private source: Pick<JournalFence, 'tokenOf'> | undefined;
  constructor(readonly replicaId: string) {}

  bind(source: Pick<JournalFence, 'tokenOf'>): void {
    this.source = source;
  }

  tokenOf(pair: string): number | undefined {
    return this.source?.tokenOf(pair);
  }
}
