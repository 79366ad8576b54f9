/**
 * `npm run simulate -- ...`: runs the market simulator over gRPC against a service (--target) or
 * in-process, prints a progress line while it runs and a summary at the end, and writes report.json,
 * report.svg and ledger.json to --out. A bad argument or an unusable target is one line on stderr and
 * exit code 2; an unexpected failure is one line and exit code 1. Never a stack trace.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Instrument } from '../server/core/instrument.ts';
import { ArgumentError, parseArgs, USAGE, type CliOptions } from './cli-args.ts';
import { startGrpcSimulation, type ApiKey, type SimulationProgress } from './grpc-driver.ts';
import { runInProcessSimulation } from './in-process-driver.ts';
import { formatSummary, type SimulationReport } from './report.ts';
import { renderReportSvg } from './report-svg.ts';
import { SimulationSetupError } from './setup-error.ts';
import { DEFAULT_INSTRUMENTS, compileInstrument } from '../server/core/instrument.ts';
import { instrumentFromWire } from './wire-codec.ts';

function readApiKeys(file: string): ApiKey[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ArgumentError(`--api-keys: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ArgumentError(`--api-keys: ${file} is not JSON (expected [{"keyId": "...", "secret": "..."}])`);
  }
  if (!Array.isArray(parsed) || parsed.some((k) => typeof k !== 'object' || k === null || typeof k.keyId !== 'string' || typeof k.secret !== 'string')) {
    throw new ArgumentError(`--api-keys: ${file} must hold an array of {"keyId": "...", "secret": "...", "account": "..."}`);
  }
  return parsed as ApiKey[];
}

function progressLine(p: SimulationProgress, durationMs: number): string {
  const errors = Object.entries(p.errorsByCode).map(([k, v]) => `${k}=${v}`).join(' ');
  return `[${(p.elapsedMs / 1000).toFixed(1)}/${(durationMs / 1000).toFixed(0)} s] sent ${p.sent} acked ${p.acknowledged} in-flight ${p.inFlight} trades ${p.trades} p99 ${p.ackLatencyP99Ms.toFixed(2)} ms agents ${p.connectedAgents}/${p.agents}${errors ? ` errors ${errors}` : ''}`;
}

function write(out: string, report: SimulationReport, instruments: ReadonlyMap<string, Instrument>): { json: string; svg: string; ledger: string } {
  mkdirSync(out, { recursive: true });
  const { ledger, ...rest } = report;
  const paths = { json: join(out, 'report.json'), svg: join(out, 'report.svg'), ledger: join(out, 'ledger.json') };
  writeFileSync(paths.json, JSON.stringify(rest, null, 1));
  writeFileSync(paths.svg, renderReportSvg(report, instruments));
  writeFileSync(paths.ledger, JSON.stringify(ledger ?? null));
  return paths;
}

async function runGrpc(o: CliOptions): Promise<void> {
  const handle = await startGrpcSimulation({
    target: o.target!,
    adminUrl: o.admin,
    ...(o.cluster !== undefined ? { cluster: o.cluster } : {}),
    ...(o.adminToken !== undefined ? { adminToken: o.adminToken } : {}),
    ...(o.apiKeysFile !== undefined ? { apiKeys: readApiKeys(o.apiKeysFile) } : {}),
    seed: o.seed,
    ratePerSecond: o.rate,
    pairs: o.pairs,
    durationMs: o.durationMs,
    ...(o.scale !== undefined ? { scale: o.scale } : {}),
    ...(o.clientOrderIdPrefix !== undefined ? { clientOrderIdPrefix: o.clientOrderIdPrefix } : {}),
  });
  const tty = process.stderr.isTTY === true;
  const ticker = o.quiet
    ? undefined
    : setInterval(() => {
        const line = progressLine(handle.progress(), o.durationMs);
        process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
      }, 1000);
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    void handle.stop();
  });
  const report = await handle.done;
  if (ticker !== undefined) clearInterval(ticker);
  if (tty && !o.quiet) process.stderr.write('\n');
  const instruments = await instrumentsOf(o.target!);
  finishRun(o, report, instruments, interrupted);
}

/** The target's instruments again, for the picture's labels (cheap; the run already checked them). */
async function instrumentsOf(target: string): Promise<Map<string, Instrument>> {
  const { InstrumentsServiceClient } = await import('../server/adapters/grpc/generated/trading/v1/instruments.ts');
  const { credentials, Metadata } = await import('@grpc/grpc-js');
  const client = new InstrumentsServiceClient(target, credentials.createInsecure());
  try {
    const res = await new Promise<{ instruments: Parameters<typeof instrumentFromWire>[0][] }>((resolve, reject) =>
      client.listInstruments({}, new Metadata(), { deadline: new Date(Date.now() + 3000) }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    return new Map(res.instruments.map((w) => [w.pair, instrumentFromWire(w)]));
  } catch {
    // The service went away after the run (a drill may have stopped it): fall back to the built-in rules.
    return new Map(DEFAULT_INSTRUMENTS.map((s) => [s.symbol, compileInstrument(s)]));
  } finally {
    client.close();
  }
}

function runInProcess(o: CliOptions): void {
  const instruments = new Map(DEFAULT_INSTRUMENTS.map((s) => [s.symbol, compileInstrument(s)]));
  const r = runInProcessSimulation({ seed: o.seed, pairs: o.pairs, ratePerSecond: o.rate, durationMs: o.durationMs, book: o.book, ...(o.scale !== undefined ? { scale: o.scale } : {}) });
  process.stdout.write(`command stream sha256 ${r.commandHash}\nevent stream sha256   ${r.eventHash}\n`);
  finishRun(o, r.report, instruments, false);
}

function finishRun(o: CliOptions, report: SimulationReport, instruments: ReadonlyMap<string, Instrument>, interrupted: boolean): void {
  const paths = write(o.out, report, instruments);
  process.stdout.write(`${formatSummary(report)}\n`);
  process.stdout.write(`wrote ${paths.json}, ${paths.svg}, ${paths.ledger}${interrupted ? ' (interrupted)' : ''}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  let o: CliOptions;
  try {
    o = parseArgs(argv);
  } catch (err) {
    if (err instanceof ArgumentError) {
      process.stderr.write(`simulate: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    if (o.target === undefined) runInProcess(o);
    else await runGrpc(o);
    return 0;
  } catch (err) {
    if (err instanceof SimulationSetupError || err instanceof ArgumentError) {
      process.stderr.write(`simulate: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`simulate: unexpected error: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`simulate: unexpected error: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
    process.exit(1);
  },
);
