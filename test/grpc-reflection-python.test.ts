/**
 * Server reflection checked by an independent client (issue 13, item 6): Python's grpcio and protobuf
 * (Debian python3-grpcio, python3-protobuf) fetch the files defining the health service and every
 * trading service over reflection and add them to a fresh DescriptorPool, which rejects malformed
 * descriptors (a map entry must be named <Field>Entry, as protoc names it). Without those packages the
 * suite is skipped locally; CI sets REQUIRE_PYTHON_GRPC=1, and then a missing package fails it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './grpc-harness.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, 'support', 'reflection_check.py');

function pythonGrpcAvailable(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import grpc, google.protobuf'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const available = pythonGrpcAvailable();
const required = process.env['REQUIRE_PYTHON_GRPC'] === '1';

let h: Harness | undefined;
beforeAll(async () => {
  if (available) h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

function check(symbols: string[]): Promise<{ code: number; result: any; raw: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, [SCRIPT, h!.address, ...symbols], { timeout: 30_000 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      let result: any;
      try {
        result = JSON.parse(line);
      } catch {
        result = undefined;
      }
      resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? -1), result, raw: `${stdout}\n${stderr}` });
    });
  });
}

describe('reflection through Python’s descriptor pool', () => {
  it.runIf(required && !available)('CI: python3-grpcio and python3-protobuf are installed', () => {
    expect.fail(`REQUIRE_PYTHON_GRPC=1 but ${PYTHON} cannot import grpc and google.protobuf: apt-get install -y python3-grpcio python3-protobuf`);
  });

  it.skipIf(!available)('accepts the health file (map entry StatusesEntry) and every trading service file', async () => {
    const r = await check(['grpc.health.v1.Health', 'trading.v1.OrdersService', 'trading.v1.MarketDataService', 'trading.v1.InstrumentsService', 'trading.v1.SessionService']);
    expect(r.result, r.raw).toMatchObject({ ok: true });
    expect(r.code).toBe(0);
    expect(r.result.messages['grpc.health.v1.HealthListResponse']).toEqual(['StatusesEntry']);
    expect(r.result.files).toEqual(['grpc_health_v1.proto', 'trading_v1.proto']); // proto-loader serves one file per package
  });
});
