/**
 * Account names (strings from the API) interned to small integers, the form the books compare cheaply.
 * One table for the whole process so an account has the same id in every pair. Must not do I/O.
 */
import type { AccountId } from '../core/types.ts';

export class AccountIds {
  private readonly ids = new Map<string, AccountId>();
  private readonly names: string[] = [''];

  /** The id of `name`, allocating the next one (1, 2, ...) the first time it is seen. */
  intern(name: string): AccountId {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(name, id);
      this.names.push(name);
    }
    return id;
  }

  /** The id of `name` if it was ever interned; lookups never allocate. */
  find(name: string): AccountId | undefined {
    return this.ids.get(name);
  }

  nameOf(id: AccountId): string | undefined {
    return id > 0 ? this.names[id] : undefined;
  }

  get size(): number {
    return this.names.length - 1;
  }
}
