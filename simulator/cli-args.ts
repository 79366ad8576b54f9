/**
 * Parsing of `npm run simulate -- ...` arguments into driver options. A bad argument is an ArgumentError
 * with one line naming the flag; nothing here touches the network.
 */
export class ArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgumentError';
  }
}

export interface CliOptions {
  /** gRPC host:port; absent runs the in-process driver. */
  target: string | undefined;
  admin: string;
  /** Several replicas (`--target a,b,c --admin u1,u2,u3`): all of them; target/admin are the first. */
  cluster: { targets: string[]; adminUrls: string[] } | undefined;
  adminToken: string | undefined;
  apiKeysFile: string | undefined;
  seed: number;
  durationMs: number;
  rate: number;
  pairs: string[];
  out: string;
  scale: number | undefined;
  clientOrderIdPrefix: string | undefined;
  /** In-process only: which book. */
  book: 'legacy' | 'adaptive';
  quiet: boolean;
  help: boolean;
}

export const USAGE = `usage: npm run simulate -- [--target HOST:PORT] [--seed N] [--duration 60s] [--rate 5000] [--pairs BTCUSDT,ETHUSDT]
                         [--admin http://127.0.0.1:8080] [--admin-token T] [--api-keys FILE] [--out DIR] [--scale N]
                         [--client-order-id-prefix P] [--book legacy|adaptive] [--quiet]
  --target    the gRPC service to trade against; without it the simulation runs in-process against TradingPair with a virtual clock.
              A comma-separated list (with --admin listing their admin URLs) runs against a cluster: each agent trades at its pair's owner
  --api-keys  JSON file: [{"keyId": "...", "secret": "...", "account": "..."}], one per agent, instead of creating keys through --admin
  --out       where report.json, report.svg and ledger.json are written (default: sim-results)`;

/** "60s", "500ms", "2m", "90" (seconds). */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (m === null) throw new ArgumentError(`--duration must look like 60s, 500ms or 2m, got ${JSON.stringify(text.slice(0, 30))}`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (!(ms > 0) || ms > 24 * 3_600_000) throw new ArgumentError(`--duration must be more than 0 and at most 24h, got ${JSON.stringify(text)}`);
  return Math.round(ms);
}

export function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = {
    target: undefined,
    admin: 'http://127.0.0.1:8080',
    cluster: undefined,
    adminToken: undefined,
    apiKeysFile: undefined,
    seed: 7,
    durationMs: 60_000,
    rate: 5000,
    pairs: ['BTCUSDT', 'ETHUSDT'],
    out: 'sim-results',
    scale: undefined,
    clientOrderIdPrefix: undefined,
    book: 'legacy',
    quiet: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const eq = flag.indexOf('=');
    const name = eq > 0 ? flag.slice(0, eq) : flag;
    const value = (): string => {
      if (eq > 0) return flag.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new ArgumentError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--target': {
        const targets = value().split(',');
        o.target = targets[0];
        o.cluster = targets.length > 1 ? { targets, adminUrls: o.cluster?.adminUrls ?? [] } : undefined;
        break;
      }
      case '--admin': {
        const urls = value().split(',');
        for (const u of urls) if (!/^https?:\/\/[^\s/]+/.test(u)) throw new ArgumentError(`--admin must be an http(s) URL like http://127.0.0.1:8080, got ${JSON.stringify(u.slice(0, 60))}`);
        o.admin = urls[0]!;
        if (urls.length > 1) o.cluster = { targets: o.cluster?.targets ?? [], adminUrls: urls };
        break;
      }
      case '--admin-token':
        o.adminToken = value();
        break;
      case '--api-keys':
        o.apiKeysFile = value();
        break;
      case '--seed': {
        const v = value();
        if (!/^-?\d{1,15}$/.test(v)) throw new ArgumentError(`--seed must be an integer, got ${JSON.stringify(v.slice(0, 30))}`);
        o.seed = Number(v);
        break;
      }
      case '--duration':
        o.durationMs = parseDuration(value());
        break;
      case '--rate': {
        const v = value();
        const n = Number(v);
        if (!/^-?\d+(\.\d+)?$/.test(v) || !(n > 0)) throw new ArgumentError(`--rate must be a positive number of commands per second, got ${JSON.stringify(v.slice(0, 30))}`);
        if (n > 1_000_000) throw new ArgumentError(`--rate must be at most 1000000, got ${v}`);
        o.rate = n;
        break;
      }
      case '--pairs': {
        const v = value();
        o.pairs = v.split(',').map((p) => p.trim()).filter((p) => p !== '');
        if (o.pairs.length === 0) throw new ArgumentError('--pairs must name at least one pair, e.g. BTCUSDT,ETHUSDT');
        for (const p of o.pairs) if (!/^[A-Z0-9]{2,20}$/.test(p)) throw new ArgumentError(`unknown pair ${JSON.stringify(p.slice(0, 30))}: pair symbols are 2-20 upper-case letters or digits, e.g. BTCUSDT`);
        if (new Set(o.pairs).size !== o.pairs.length) throw new ArgumentError('--pairs names a pair twice');
        break;
      }
      case '--out':
        o.out = value();
        break;
      case '--scale': {
        const v = value();
        const n = Number(v);
        if (!/^\d+$/.test(v) || n < 1 || n > 100) throw new ArgumentError(`--scale must be an integer from 1 to 100, got ${JSON.stringify(v.slice(0, 30))}`);
        o.scale = n;
        break;
      }
      case '--client-order-id-prefix':
        o.clientOrderIdPrefix = value();
        break;
      case '--book': {
        const v = value();
        if (v !== 'legacy' && v !== 'adaptive') throw new ArgumentError(`--book must be legacy or adaptive, got ${JSON.stringify(v.slice(0, 30))}`);
        o.book = v;
        break;
      }
      case '--quiet':
        o.quiet = true;
        break;
      case '--help':
      case '-h':
        o.help = true;
        break;
      default:
        throw new ArgumentError(`unknown argument ${JSON.stringify(flag.slice(0, 40))} (see --help)`);
    }
  }
  if (o.cluster !== undefined && (o.cluster.targets.length < 2 || o.cluster.targets.length !== o.cluster.adminUrls.length))
    throw new ArgumentError('a cluster run needs --target and --admin to list the same number (at least 2) of replicas, in the same order');
  return o;
}
