import { useEffect, useReducer } from 'preact/hooks';
import { store, type Store } from './store.ts';

/** Re-renders the calling view once per animation frame in which the store changed. */
export function useStore(): Store {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => store.subscribe(() => bump(0)), []);
  return store;
}

/** Calls `run` now and every `ms` while mounted (a polling view). */
export function usePoll(run: () => void | Promise<void>, ms: number, deps: unknown[] = []): void {
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        await run();
      } finally {
        if (!stopped) timer = setTimeout(tick, ms);
      }
    };
    void tick();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, deps);
}
