/**
 * Entry point for instruction counting (loadtest/bench-engine-instructions.sh bundles it to plain JS and
 * runs it under `valgrind --tool=callgrind`): loads one peer workload, runs one untimed warm-up pass and
 * then PASSES more passes of one book. The script subtracts a PASSES=0 run from a PASSES=k run, so the
 * figure is instructions per command in steady state, without start-up, loading and the JIT's first pass.
 *
 *   node engine-instructions.mjs <adaptive|legacy|naive> <passes> <bench-peers dir> <workload file>
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { BOOK_IMPLEMENTATIONS } from '../server/core/book-implementations.ts';
import { DEFAULT_INSTRUMENTS, compileInstrument } from '../server/core/instrument.ts';
import { runEngineOnce, type PeerRun, type PeerWorkload } from './engine-peer.ts';

const [impl, passesArg, dir, file] = process.argv.slice(2);
if (impl === undefined || passesArg === undefined || dir === undefined || file === undefined) {
  throw new Error('usage: engine-instructions.mjs <adaptive|legacy|naive> <passes> <bench-peers dir> <workload file>');
}
const passes = Number(passesArg);
const instrument = compileInstrument(DEFAULT_INSTRUMENTS.find((s) => s.symbol === 'BTCUSDT')!);
const harness = (await import(pathToFileURL(join(dir, 'harness.mjs')).href)) as { loadWorkload: (f: string) => PeerWorkload };
const wl = harness.loadWorkload(file);
let run: (w: PeerWorkload) => PeerRun;
if (impl === 'naive') {
  run = ((await import(pathToFileURL(join(dir, 'naive-book.mjs')).href)) as { runOnce: (w: PeerWorkload) => PeerRun }).runOnce;
} else if (impl === 'adaptive' || impl === 'legacy') {
  const factory = BOOK_IMPLEMENTATIONS[impl];
  run = (w) => runEngineOnce(() => factory(instrument), w);
} else {
  throw new Error(`unknown book ${impl}`);
}
const first = run(wl);
for (let i = 0; i < passes; i++) {
  const r = run(wl);
  if (r.fills !== first.fills || r.volume !== first.volume || r.resting !== first.resting) throw new Error('passes disagree');
}
const exp = wl.meta?.expected;
const ok = exp === undefined || (first.fills === exp.fills && first.volume === exp.volume && first.resting === exp.resting);
console.log(JSON.stringify({ impl, passes, commands: wl.n, fills: first.fills, volume: first.volume, resting: first.resting, matchesExpected: ok }));
