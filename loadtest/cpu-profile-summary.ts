/**
 * Where a `node --cpu-prof` profile's CPU time went: self and inclusive time by function and by file,
 * and self time grouped by what the code does (protobuf encode, idempotency, books, metrics, GC, ...),
 * as shares of the non-idle samples outside module loading (the process's startup). Used by `npm run bench:grpc` (BENCH_PROFILE=1).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

export interface Share {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  file: string;
  /** Non-idle time after startup: the shares below are of this. */
  busyMs: number;
  /** Time spent loading and compiling modules (under node:internal/modules or tsx), left out of the shares. */
  startupMs: number;
  selfByGroup: Share[];
  selfByFunction: Share[];
  selfByFile: Share[];
  inclusiveByFunction: Share[];
}

/**
 * Self-time groups, first match wins, tested against "file:function". The names follow issue 9's
 * breakdown so runs can be compared with it.
 */
const GROUPS: readonly [string, RegExp][] = [
  ['GC', /^\(garbage collector\)/],
  ['protobuf encode (generated code, BinaryWriter, uint64 strings)', /(proto-int64|generated\/.*:(encode|finish)|@bufbuild\/protobuf.*wire\/binary-encoding.*:(?!read)|BinaryWriter|:(uint32|int32|string|fork|join|finish|bytes|raw|tag|uint64|int64|varint\w*)\b)/i],
  ['protobuf decode', /(generated\/.*:(decode|fromPartial)|BinaryReader|binary-encoding.*:read)/i],
  ['idempotency (records, fingerprints, session store)', /(idempoten|original|fingerprint|session-store|memory-session|remember|redis-session|resilient-session)/i],
  ['order registry / closed orders', /(order-registry|closed-order|client-order)/i],
  ['metrics, monitor, tracing', /(metrics|prom-client|performance-monitor|latency-histogram|tracing|opentelemetry|alerts)/i],
  ['shadow / migration / breaker', /(order-book-manager|shadow|migration|circuit-breaker|serving-book|event-recorder)/i],
  ['codec, decimal, validation', /(codec|decimal|validation)/i],
  ['books (matching core)', /^(dist\/)?server\/core\//],
  ['orders-service & pair adapter', /(orders-service|trading-pair|trading-pairs|call-context|session-authenticator|order-session-hooks|stream-limits|connection-guard|command-durability|rate)/i],
  ['grpc-js transport', /@grpc\/grpc-js/],
  ['node internals (http2, streams, net, buffers)', /^(node:|\(native\)|\(program\))/],
];

/** Self and inclusive CPU time of the profile in `file`; paths are shown relative to `root`. */
export function summarizeProfile(file: string, root: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const short = (url: string): string => {
    if (!url.startsWith('file://')) return url || '(native)';
    const path = relative(root, fileURLToPath(url));
    const nm = path.lastIndexOf('node_modules/');
    return nm >= 0 ? path.slice(nm + 'node_modules/'.length) : path;
  };
  // tsx emits each module on one line, so a line number says nothing there; the column tells anonymous functions apart.
  const fnKey = (n: ProfileNode): string => {
    const f = n.callFrame;
    const where = f.lineNumber > 0 ? `:${f.lineNumber + 1}` : f.url === '' ? '' : `@col${f.columnNumber + 1}`;
    return `${short(f.url)}:${f.functionName || '(anonymous)'}${where}`;
  };
  const groupOf = (n: ProfileNode): string => {
    if (n.callFrame.functionName === '(garbage collector)') return 'GC';
    const key = `${short(n.callFrame.url)}:${n.callFrame.functionName}`;
    return GROUPS.find(([, re]) => re.test(key))?.[0] ?? `other: ${short(n.callFrame.url)}`;
  };
  const self = new Map<string, number>();
  const selfFile = new Map<string, number>();
  const selfGroup = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, dt: number): void => {
    m.set(k, (m.get(k) ?? 0) + dt);
  };
  const startup = new Map<number, boolean>();
  const isStartup = (id: number): boolean => {
    let v = startup.get(id);
    if (v === undefined) {
      const url = byId.get(id)!.callFrame.url;
      const up = parent.get(id);
      v = url.startsWith('node:internal/modules/') || url.includes('/node_modules/tsx/') || (up !== undefined && isStartup(up));
      startup.set(id, v);
    }
    return v;
  };
  let busyUs = 0;
  let startupUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    const dt = profile.timeDeltas[i] ?? 0;
    const name = node.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') continue;
    if (isStartup(node.id)) {
      startupUs += dt;
      continue;
    }
    busyUs += dt;
    add(self, fnKey(node), dt);
    add(selfFile, name === '(garbage collector)' ? '(garbage collector)' : short(node.callFrame.url), dt);
    add(selfGroup, groupOf(node), dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const k = fnKey(byId.get(id)!);
      if (seen.has(k)) continue;
      seen.add(k);
      add(inclusive, k, dt);
    }
  }
  const top = (m: Map<string, number>, n: number): Share[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: Math.round((us / Math.max(1, busyUs)) * 10_000) / 10_000 }));
  return { file, busyMs: Math.round(busyUs / 1000), startupMs: Math.round(startupUs / 1000), selfByGroup: top(selfGroup, 30), selfByFunction: top(self, 40), selfByFile: top(selfFile, 25), inclusiveByFunction: top(inclusive, 40) };
}
