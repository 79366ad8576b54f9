/**
 * fast-check run parameters: PROPERTY_RUNS_SCALE multiplies every property's run count (CI raises it), PROPERTY_SEED replays
 * a failure exactly (fast-check prints the seed and path when a property fails).
 */
import type { Parameters } from 'fast-check';

export function propertyParameters<T>(defaultRuns: number): Parameters<T> {
  const scale = Number(process.env.PROPERTY_RUNS_SCALE ?? '1');
  const seed = process.env.PROPERTY_SEED;
  const path = process.env.PROPERTY_PATH;
  return {
    numRuns: Math.max(1, Math.round(defaultRuns * (Number.isFinite(scale) && scale > 0 ? scale : 1))),
    ...(seed !== undefined ? { seed: Number(seed) } : {}),
    ...(path !== undefined ? { path } : {}),
    verbose: 1,
  };
}
