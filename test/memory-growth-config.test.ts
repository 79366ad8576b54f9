// MEMORY_GROWTH_ALERT_MIB_PER_MINUTE / MEMORY_GROWTH_WINDOW_MS reach the service's alert thresholds, bad
// values are refused naming the variable, and the growth gauge is exported from start.
import { describe, expect, it } from 'vitest';
import { TradingService } from '../server/adapters/trading-service.ts';
import { loadConfig } from '../server/config.ts';

const quiet = { info: () => {}, error: () => {} };

describe('memory growth alert configuration', () => {
  it('defaults 500 MiB/min over 300000 ms', () => {
    expect(loadConfig({})).toMatchObject({ memoryGrowthAlertMiBPerMinute: 500, memoryGrowthWindowMs: 300_000 });
  });

  it('refuses bad values naming the variable', () => {
    expect(() => loadConfig({ MEMORY_GROWTH_ALERT_MIB_PER_MINUTE: '0' })).toThrow(/^MEMORY_GROWTH_ALERT_MIB_PER_MINUTE:/);
    expect(() => loadConfig({ MEMORY_GROWTH_ALERT_MIB_PER_MINUTE: '5x' })).toThrow(/^MEMORY_GROWTH_ALERT_MIB_PER_MINUTE:/);
    expect(() => loadConfig({ MEMORY_GROWTH_WINDOW_MS: '29999' })).toThrow(/^MEMORY_GROWTH_WINDOW_MS:/);
  });

  it('the service uses them and exports trading_memory_growth_bytes_per_second', async () => {
    const service = new TradingService(loadConfig({ MEMORY_GROWTH_ALERT_MIB_PER_MINUTE: '123', MEMORY_GROWTH_WINDOW_MS: '60000', GRPC_PORT: '0', ADMIN_PORT: '0' }), { logger: quiet });
    try {
      expect(service.alerts.thresholds).toMatchObject({ memoryGrowthMiBPerMinute: 123, memoryGrowthWindowMs: 60_000 });
      const text = await service.metrics.registry.metrics();
      expect(text).toMatch(/^# TYPE trading_memory_growth_bytes_per_second gauge$/m);
      expect(text).toMatch(/^trading_memory_growth_bytes_per_second 0$/m);
    } finally {
      await service.stop(100);
    }
  });
});
