// A web page of another site cannot drive the admin API of an operator on the same host: the runbook's
// plain `curl -X POST` carries no token on loopback, so a cross-site form post or fetch from a browser
// would otherwise halt trading. A state-changing request a browser marks as another origin's is refused
// with 403 and changes nothing; curl (no Origin, no Sec-Fetch-Site) and same-origin pages (the Trading UI)
// are served as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../server/config.ts';
import { TradingService } from '../server/adapters/trading-service.ts';

let service: TradingService;
let base: string;
let host: string;

beforeAll(async () => {
  service = new TradingService(loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', PERSISTENCE: 'memory' }), { logger: { info: () => {}, error: () => {} } });
  const ports = await service.start();
  host = `127.0.0.1:${ports.adminPort}`;
  base = `http://${host}`;
});
afterAll(async () => {
  await service.stop(1_000);
});

async function halted(): Promise<boolean> {
  const health = (await (await fetch(`${base}/health`)).json()) as { checks?: { trading_halted?: { value?: unknown } } } & Record<string, unknown>;
  return JSON.stringify(health).includes('"trading_halted":true') || health.checks?.trading_halted?.value === true;
}

describe('admin API: state-changing requests from another origin', () => {
  it.each([
    ['a form post from another site', { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }],
    ['a fetch marked cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['a same-site (other port) page', { 'sec-fetch-site': 'same-site' }],
    ['an opaque origin (sandboxed page, file://)', { origin: 'null' }],
  ])('%s is refused with 403 and changes nothing', async (_name, headers) => {
    const res = await fetch(`${base}/admin/trading/halt`, { method: 'POST', headers, body: '{}' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe('cross_origin');
    expect(await halted()).toBe(false);
  });

  it('curl-style (no Origin) and same-origin requests are served', async () => {
    const plain = await fetch(`${base}/admin/trading/halt`, { method: 'POST', body: '{}' });
    expect(plain.status).toBe(200);
    expect(await halted()).toBe(true);
    const sameOrigin = await fetch(`${base}/admin/trading/resume`, { method: 'POST', headers: { origin: base, 'sec-fetch-site': 'same-origin' }, body: '{}' });
    expect(sameOrigin.status).toBe(200);
    expect(await halted()).toBe(false);
  });

  it('reads stay open to pages (GET is not state-changing)', async () => {
    expect((await fetch(`${base}/admin/migration/status`, { headers: { origin: 'http://evil.example' } })).status).toBe(200);
  });
});
