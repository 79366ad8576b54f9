import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_MAX_INSTRUMENTS, loadConfig } from './config.ts';

const base = { GRPC_HOST: '127.0.0.1' };
const XRP = { symbol: 'XRPUSDT', base_asset: 'XRP', quote_asset: 'USDT', tick_size: '0.0001', lot_size: '0.1', max_quantity: '1000000', max_price: '1000' };
const dir = mkdtempSync(join(tmpdir(), 'instruments-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('instruments configuration (INSTRUMENTS_FILE, INSTRUMENTS, MAX_INSTRUMENTS)', () => {
  it('defaults: no configured instruments (table or defaults decide), at most 256 listed', () => {
    expect(loadConfig(base)).toMatchObject({ instruments: undefined, maxInstruments: DEFAULT_MAX_INSTRUMENTS });
    expect(DEFAULT_MAX_INSTRUMENTS).toBe(256);
  });

  it('reads a JSON file or the same JSON inline', () => {
    const file = join(dir, 'instruments.json');
    writeFileSync(file, JSON.stringify([XRP]));
    expect(loadConfig({ ...base, INSTRUMENTS_FILE: file }).instruments?.map((i) => [i.symbol, i.tickSize, i.maxPriceTicks])).toEqual([['XRPUSDT', '0.0001', 10_000_000]]);
    expect(loadConfig({ ...base, INSTRUMENTS: JSON.stringify([XRP]) }).instruments?.[0]?.lotSize).toBe('0.1');
  });

  it('refuses a missing file, both variables, a bad entry and too many entries, naming the variable, element and field', () => {
    expect(refusal({ INSTRUMENTS_FILE: join(dir, 'missing.json') })).toMatchObject({ variable: 'INSTRUMENTS_FILE', message: expect.stringMatching(/cannot be read .*ENOENT/) });
    expect(refusal({ INSTRUMENTS_FILE: join(dir, 'x'), INSTRUMENTS: '[]' }).variable).toBe('INSTRUMENTS_FILE');
    expect(refusal({ INSTRUMENTS: JSON.stringify([XRP, { ...XRP, symbol: 'ADAUSDT', max_price: 1000 }]) })).toMatchObject({
      variable: 'INSTRUMENTS',
      message: 'INSTRUMENTS: instruments[1].max_price: must be a string holding an exact decimal (not a JSON number: no floats), got 1000',
    });
    expect(refusal({ INSTRUMENTS: '[{' }).message).toMatch(/^INSTRUMENTS: instruments: is not JSON/);
    expect(refusal({ INSTRUMENTS: JSON.stringify([XRP, { ...XRP, symbol: 'ADAUSDT' }]), MAX_INSTRUMENTS: '1' }).message).toMatch(/holds 2 instruments; at most 1/);
    expect(refusal({ MAX_INSTRUMENTS: '0' }).variable).toBe('MAX_INSTRUMENTS');
  });
});
