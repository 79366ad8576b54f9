/**
 * Which live replica should own each pair (cluster mode): a pure function of the pair list and the live
 * members, so every replica computes the same answer from the same rows.
 *
 * - `balanced`: rendezvous (highest-random-weight) hashing with bounded load — pairs in sorted order
 *   each go to the member with the highest hash(pair, member) among those holding fewer than
 *   ceil(pairs / members) pairs. Deterministic, balanced within one pair, and a joining or leaving
 *   member moves only a few pairs.
 * - `static`: OWNERSHIP_STATIC's map; a pair whose named replica is not live goes balanced over the
 *   live ones (so a dead replica's pairs are still taken over).
 */
import { createHash } from 'node:crypto';

export type PlacementMode = 'balanced' | 'static';

function weight(pair: string, member: string): bigint {
  return createHash('sha256').update(pair).update('\u0000').update(member).digest().readBigUInt64BE(0);
}

/** pair → replica id for every pair, given the live replicas (none live: empty map). */
export function placePairs(pairs: readonly string[], live: readonly string[], mode: PlacementMode, staticMap: ReadonlyMap<string, string> = new Map()): Map<string, string> {
  const out = new Map<string, string>();
  const members = [...new Set(live)].sort();
  if (members.length === 0) return out;
  const sorted = [...new Set(pairs)].sort();
  const load = new Map(members.map((m) => [m, 0]));
  const rest: string[] = [];
  for (const pair of sorted) {
    const wanted = mode === 'static' ? staticMap.get(pair) : undefined;
    if (wanted !== undefined && load.has(wanted)) {
      out.set(pair, wanted);
      load.set(wanted, load.get(wanted)! + 1);
    } else {
      rest.push(pair);
    }
  }
  const cap = Math.ceil(sorted.length / members.length);
  for (const pair of rest) {
    let best: string | undefined;
    let bestWeight = -1n;
    for (const m of members) {
      if (load.get(m)! >= cap) continue;
      const w = weight(pair, m);
      if (w > bestWeight) {
        best = m;
        bestWeight = w;
      }
    }
    // Static placements may have filled every member to the cap: then the least loaded takes it.
    best ??= members.reduce((a, b) => (load.get(b)! < load.get(a)! ? b : a));
    out.set(pair, best);
    load.set(best, load.get(best)! + 1);
  }
  return out;
}
