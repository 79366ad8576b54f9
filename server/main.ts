/**
 * Composition root: reads the config once, starts the TradingService (gRPC + admin HTTP API), and shuts
 * down gracefully on SIGTERM/SIGINT. Nothing imports this module.
 */
import { loadConfig } from './config.ts';
import { TradingService } from './adapters/trading-service.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const service = new TradingService(config);
  const { grpcPort, adminPort } = await service.start();
  console.log(
    `trading-service listening for gRPC on ${config.grpcHost}:${grpcPort}; admin HTTP on http://${config.adminHost}:${adminPort} ` +
      `(migration starts ${config.migrationInitialState}; pairs: ${service.instruments.map((i) => i.symbol).join(', ')}` +
      `${config.adminToken ? '; admin token required' : ''}${config.chaosEnabled ? '; CHAOS ENDPOINTS ENABLED' : ''})`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    console.log(`trading-service: ${signal} received; draining (up to ${config.shutdownGraceMs} ms)`);
    service.stop(config.shutdownGraceMs).then(
      (how) => {
        console.log(`trading-service: stopped (${how})`);
        process.exit(0);
      },
      (err: unknown) => {
        console.error('trading-service: shutdown failed', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error('trading-service failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
