/**
 * Keeps each pair's migration state/percentage and breaker state in the PairStateStore: restored at
 * start-up (after recovery, before gRPC serves), saved within a second of any change (the service's
 * ramp tick calls saveChanged()). A failed save is logged and retried on the next tick.
 */
import type { PairStateStore } from '../../ports/pair-state-store.ts';
import type { PairControls } from '../../pairs/pair-controls.ts';
import type { CommandDurabilityLogger } from './command-durability.ts';

export class PairControlPersistence {
  /** Last document saved (or loaded) per pair, as JSON. */
  private readonly saved = new Map<string, string>();
  private readonly saving = new Set<string>();

  constructor(
    private readonly store: PairStateStore,
    private readonly control: Pick<PairControls, 'has' | 'get' | 'pairs'>,
    private readonly logger: CommandDurabilityLogger,
  ) {}

  /** Applies the stored documents to the pairs this service trades. */
  async restore(): Promise<void> {
    const docs = await this.store.loadAll();
    for (const [pair, doc] of docs) {
      if (!this.control.has(pair)) continue;
      const pc = this.control.get(pair);
      try {
        const what = pc.restore(doc); // the pair's books follow the restored state
        if (what !== undefined) this.logger.info(`pair state: ${pair} restored: ${what}`);
      } catch (err) {
        this.logger.error(`pair state: ${pair}: stored state not applied (starting from the configured defaults)`, err);
      }
      this.saved.set(pair, JSON.stringify(pc.state()));
    }
  }

  /** Forgets a delisted pair (its stored document stays; a pair listed again starts from the defaults). */
  forget(pair: string): void {
    this.saved.delete(pair);
  }

  /** Saves every pair whose control state changed since its last save. */
  saveChanged(): void {
    for (const pair of this.control.pairs()) {
      if (this.saving.has(pair)) continue;
      const doc = this.control.get(pair).state();
      const text = JSON.stringify(doc);
      if (this.saved.get(pair) === text) continue;
      this.saving.add(pair);
      this.store.save(pair, doc).then(
        () => {
          this.saved.set(pair, text);
          this.saving.delete(pair);
        },
        (err: unknown) => {
          this.saving.delete(pair);
          this.logger.error(`pair state: saving ${pair} failed; retried on the next tick`, err);
        },
      );
    }
  }
}
