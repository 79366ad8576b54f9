/**
 * The canonical JSON text of a snapshot and its sha256, built in slices between which the event loop
 * runs (setImmediate), so a snapshot of a deep pair (tens of MB of text) does not stall live commands
 * for the hundreds of milliseconds one synchronous canonicalJson + sha256 takes. The text is exactly
 * canonicalJson(value) (test: canonical-checksum.test.ts).
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { canonicalJson } from './canonical-json.ts';

export interface CanonicalChecksumOptions {
  /** Most array elements (or object keys) serialised between two yields to the event loop. @default 2000 */
  sliceSize?: number;
  /** A slice also ends once it has run this long (checked every 16 units). @default 4 */
  maxSliceMs?: number;
  /** How the work yields between slices. @default setImmediate */
  yieldToLoop?: () => Promise<void>;
}

export interface CanonicalChecksum {
  text: string;
  /** sha256 (hex) of `text`. */
  checksum: string;
  /** How many times the work yielded to the event loop. */
  slices: number;
}

const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Pieces of canonicalJson(value) in order. Objects and arrays are walked here; the elements of an
 * array that are not arrays themselves (a snapshot's orders) are serialised whole, as one unit each.
 * Yields `undefined` between units, where the caller may pause.
 */
function* pieces(value: unknown, unit: (v: unknown) => string): Generator<string | undefined> {
  if (value === null || typeof value !== 'object') {
    yield unit(value);
    return;
  }
  if (Array.isArray(value)) {
    yield '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ',';
      const el: unknown = value[i];
      if (Array.isArray(el)) yield* pieces(el, unit);
      else yield unit(el);
      yield undefined;
    }
    yield ']';
    return;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort();
  yield '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    yield `${i > 0 ? ',' : ''}${JSON.stringify(k)}:`;
    yield* pieces(record[k], unit);
    yield undefined;
  }
  yield '}';
}

/** canonicalJson(value) and its sha256, computed in slices off the event loop's critical path. */
export async function canonicalChecksum(value: unknown, options: CanonicalChecksumOptions = {}): Promise<CanonicalChecksum> {
  const sliceSize = options.sliceSize ?? 2000;
  if (!Number.isSafeInteger(sliceSize) || sliceSize < 1) throw new Error(`sliceSize must be a positive integer, got ${sliceSize}`);
  const maxSliceMs = options.maxSliceMs ?? 4;
  const yieldToLoop = options.yieldToLoop ?? immediate;
  const unit = sameShapeCanonicalJson();
  let sliceStart = performance.now();
  const hash = createHash('sha256');
  const parts: string[] = [];
  let slice: string[] = [];
  let units = 0;
  let slices = 0;
  for (const p of pieces(value, unit)) {
    if (p !== undefined) {
      slice.push(p);
      continue;
    }
    if (++units < sliceSize && ((units & 15) !== 0 || performance.now() - sliceStart < maxSliceMs)) continue;
    const text = slice.join('');
    hash.update(text);
    parts.push(text);
    slice = [];
    units = 0;
    slices++;
    await yieldToLoop();
    sliceStart = performance.now();
  }
  const rest = slice.join('');
  hash.update(rest);
  parts.push(rest);
  return { text: parts.join(''), checksum: hash.digest('hex'), slices };
}

/**
 * canonicalJson for runs of objects with the same keys (a snapshot's order records): the sorted key
 * order and the `"key":` prefixes of the previous object are reused when its keys are the same, in
 * the same order. Anything else goes to canonicalJson. Same text either way.
 */
function sameShapeCanonicalJson(): (value: unknown) => string {
  let lastKeys: string[] = [];
  let sorted: string[] = [];
  let prefixes: string[] = [];
  const encode = (value: unknown): string => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return canonicalJson(value);
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    let same = keys.length === lastKeys.length;
    for (let i = 0; same && i < keys.length; i++) same = keys[i] === lastKeys[i];
    if (!same) {
      lastKeys = keys;
      sorted = [...keys].sort();
      prefixes = sorted.map((k) => `${JSON.stringify(k)}:`);
    }
    let out = '{';
    let first = true;
    for (let i = 0; i < sorted.length; i++) {
      const v = record[sorted[i]!];
      if (v === undefined) continue;
      const text = v === null || typeof v !== 'object' ? (typeof v === 'string' ? JSON.stringify(v) : canonicalJson(v)) : canonicalJson(v);
      out += first ? prefixes[i]! + text : `,${prefixes[i]!}${text}`;
      first = false;
    }
    return `${out}}`;
  };
  return encode;
}
