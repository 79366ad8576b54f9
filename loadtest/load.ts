/**
 * `npm run load -- --rate 20000 --duration 60s --mix unary=70,stream=20,batch=10`: an open-loop load
 * generator against a running service that needs no k6. Latency from the intended send time
 * (HdrHistogram), a progress line, and a report: JSON plus an HTML page with SVG charts (latency
 * percentiles over time, throughput over time, latency distribution) under --out (loadtest/reports).
 * Sessions: API keys for the bench accounts through the admin API (--admin, --admin-token), then
 * SessionService.Login; `--auth header` for a service started with AUTH_MODE=header. The per-account
 * rate limit (RATE_LIMIT_PER_SECOND, 1000 by default) caps what 8 accounts may send: start the service
 * with a higher limit for higher rates, or the refusals show up as RESOURCE_EXHAUSTED errors.
 * Exit: 0 after a run (its verdicts are in the report), 1 when it could not run, 2 on bad arguments.
 */
import { LoadArgsError, parseLoadArgs } from './load-args.ts';
import { writeReport } from './load-report.ts';
import { runLoad } from './load-run.ts';

async function main(): Promise<number> {
  let args;
  try {
    args = parseLoadArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof LoadArgsError) {
      process.stderr.write(`load: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const tty = process.stderr.isTTY === true;
  const result = await runLoad(args, (line, final) => {
    if (tty) process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    else process.stderr.write(`${line}\n`);
  });
  const paths = writeReport(result, args.out);
  const l = result.latency_us;
  process.stdout.write(
    `load: ${result.completed}/${result.scheduled} orders answered at ${result.achieved_per_sec}/s (target ${result.target_per_sec}/s); ` +
      `latency p50 ${(l.p50 / 1000).toFixed(2)} ms, p95 ${(l.p95 / 1000).toFixed(2)} ms, p99 ${(l.p99 / 1000).toFixed(2)} ms, max ${(l.max / 1000).toFixed(2)} ms; ` +
      `errors ${result.errors.unexpected} (${(result.error_rate * 100).toFixed(3)} %); load average ${result.load_average_after.join(' ')}\n` +
      `load: p95 < 20 ms ${result.slo.p95_under_20ms ? 'met' : 'NOT met'}; error rate < 1 % ${result.slo.error_rate_under_1pct ? 'met' : 'NOT met'}\n` +
      `load: report ${paths.json} and ${paths.html}\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`load: failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
