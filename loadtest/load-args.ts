/**
 * Arguments of `npm run load` (loadtest/load.ts). Every value is checked; a bad one is ONE line naming
 * the flag (LoadArgsError), and the command exits 2.
 */

export type Transport = 'unary' | 'stream' | 'batch';

export interface LoadArgs {
  /** Orders (and cancels) per second, all transports together. */
  rate: number;
  durationSeconds: number;
  /** Share of the rate per transport, summing to 1. */
  mix: Record<Transport, number>;
  /** Orders per OrderFlow message and per SubmitOrderBatch call. */
  batch: number;
  streams: number;
  connections: number;
  target: string;
  admin: string;
  adminToken: string | undefined;
  auth: 'sessions' | 'header';
  out: string;
  seed: number;
  maxInFlight: number;
  /** Print the progress line every this many seconds. */
  progressEvery: number;
}

export class LoadArgsError extends Error {}

export const USAGE =
  'usage: npm run load -- --rate N --duration 60s [--mix unary=70,stream=20,batch=10] [--batch 10] [--streams 4] [--connections 2] ' +
  '[--target 127.0.0.1:50051] [--admin http://127.0.0.1:8080] [--admin-token T] [--auth sessions|header] [--out loadtest/reports] [--seed 1] [--max-in-flight 50000]';

/** Largest accepted values: every run is bounded in rate, time and memory. */
export const LIMITS = { rate: 200_000, durationSeconds: 3_600, batch: 1_000, streams: 64, connections: 16, maxInFlight: 1_000_000 } as const;

function integer(flag: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v)) throw new LoadArgsError(`${flag} must be a whole number, got ${JSON.stringify(v.slice(0, 20))}`);
  const n = Number(v);
  if (n < min || n > max) throw new LoadArgsError(`${flag} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** "60s", "2m", "1h", "90" (seconds). */
export function parseDuration(v: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(v);
  if (m === null) throw new LoadArgsError(`--duration must look like 60s, 2m or 1h, got ${JSON.stringify(v.slice(0, 20))}`);
  const s = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  if (s < 1 || s > LIMITS.durationSeconds) throw new LoadArgsError(`--duration must be between 1s and ${LIMITS.durationSeconds / 3600}h, got ${v}`);
  return s;
}

/** "unary=70,stream=30" → shares summing to 1; a transport left out gets 0. */
export function parseMix(v: string): Record<Transport, number> {
  const mix: Record<Transport, number> = { unary: 0, stream: 0, batch: 0 };
  let total = 0;
  for (const part of v.split(',')) {
    const m = /^(unary|stream|batch)[=:](\d+)$/.exec(part.trim());
    if (m === null) throw new LoadArgsError(`--mix must look like unary=70,stream=20,batch=10 (transports unary, stream, batch), got ${JSON.stringify(part.slice(0, 30))}`);
    mix[m[1] as Transport] += Number(m[2]);
    total += Number(m[2]);
  }
  if (total === 0) throw new LoadArgsError('--mix must give at least one transport a share above 0');
  for (const k of Object.keys(mix) as Transport[]) mix[k] /= total;
  return mix;
}

export function parseLoadArgs(argv: readonly string[]): LoadArgs {
  const a: LoadArgs = {
    rate: 1000,
    durationSeconds: 60,
    mix: { unary: 1, stream: 0, batch: 0 },
    batch: 10,
    streams: 4,
    connections: 2,
    target: '127.0.0.1:50051',
    admin: 'http://127.0.0.1:8080',
    adminToken: undefined,
    auth: 'sessions',
    out: 'loadtest/reports',
    seed: 1,
    maxInFlight: 50_000,
    progressEvery: 1,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const eq = flag.indexOf('=');
    const name = eq > 0 && flag.startsWith('--') ? flag.slice(0, eq) : flag;
    const inline = eq > 0 && flag.startsWith('--') ? flag.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new LoadArgsError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--rate':
        a.rate = integer(name, value(), 1, LIMITS.rate);
        break;
      case '--duration':
        a.durationSeconds = parseDuration(value());
        break;
      case '--mix':
        a.mix = parseMix(value());
        break;
      case '--batch':
        a.batch = integer(name, value(), 1, LIMITS.batch);
        break;
      case '--streams':
        a.streams = integer(name, value(), 1, LIMITS.streams);
        break;
      case '--connections':
        a.connections = integer(name, value(), 1, LIMITS.connections);
        break;
      case '--target': {
        const v = value();
        if (!/^[A-Za-z0-9.\-:[\]]+:\d{1,5}$/.test(v)) throw new LoadArgsError(`--target must be host:port, got ${JSON.stringify(v.slice(0, 40))}`);
        a.target = v;
        break;
      }
      case '--admin': {
        const v = value();
        if (!/^https?:\/\/\S+$/.test(v)) throw new LoadArgsError(`--admin must be an http(s) URL, got ${JSON.stringify(v.slice(0, 40))}`);
        a.admin = v.replace(/\/$/, '');
        break;
      }
      case '--admin-token':
        a.adminToken = value();
        break;
      case '--auth': {
        const v = value();
        if (v !== 'sessions' && v !== 'header') throw new LoadArgsError(`--auth must be sessions or header, got ${JSON.stringify(v.slice(0, 20))}`);
        a.auth = v;
        break;
      }
      case '--out':
        a.out = value();
        break;
      case '--seed':
        a.seed = integer(name, value(), 0, 2 ** 31 - 1);
        break;
      case '--max-in-flight':
        a.maxInFlight = integer(name, value(), 1, LIMITS.maxInFlight);
        break;
      case '--progress-every':
        a.progressEvery = integer(name, value(), 1, 3600);
        break;
      case '--help':
      case '-h':
        throw new LoadArgsError(USAGE);
      default:
        throw new LoadArgsError(`unknown argument ${JSON.stringify(flag.slice(0, 40))}; ${USAGE}`);
    }
  }
  return a;
}
