/**
 * Composition root: reads the config once, opens the persistence (DATABASE_URL, else the embedded
 * PostgreSQL under DATA_DIR), starts the TradingService (recovery, then gRPC + admin HTTP API), and
 * shuts down gracefully on SIGTERM/SIGINT: gRPC drained, journal drained, then the database stopped.
 * Nothing imports this module.
 */
import { loadConfig } from './config.ts';
import { TradingService } from './adapters/trading-service.ts';
import { openServicePersistence } from './adapters/durability/open-persistence.ts';
import { describeDemoApiKey, ensureDemoApiKey } from './adapters/demo-account.ts';
import { createServiceLogger } from './adapters/logging/service-logger.ts';
import { warmUp } from './adapters/warm-up.ts';

/** "BTCUSDT canary 5 %" — the state each pair actually serves in after recovery (restored or MIGRATION_INITIAL_STATE). */
function describeMigration(service: TradingService, pair: string): string {
  const s = service.migration.statusOf(pair);
  const pct = s.state === 'canary' ? ` ${s.current_percentage} %` : '';
  const ramp = s.ramp.active ? (s.ramp.frozen ? ', ramp paused' : ', ramp running') : '';
  return `${pair} ${s.state}${pct}${ramp}`;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && process.stdout.isTTY === true);
  const log = createServiceLogger({ level: config.logLevel, format: pretty ? 'pretty' : 'json', color: pretty && process.stdout.isTTY === true });
  fatalLog = log;
  if (config.warmUpOrders > 0) {
    try {
      const w = await warmUp(config, config.warmUpOrders);
      log.info(`trading-service: warmed up with ${w.commands} commands over loopback gRPC in ${w.ms} ms (${w.errors} answered with an error)`, { event: 'warm_up', commands: w.commands, errors: w.errors, duration_ms: w.ms });
    } catch (err) {
      log.error('trading-service: warm-up failed; starting without it', err, { event: 'warm_up' });
    }
  }
  // The embedded PostgreSQL's own output (initdb, server start) only at debug.
  const opened = await openServicePersistence(config, (line) => (line.startsWith('embedded-postgres:') ? log.debug(line, { dependency: 'postgresql' }) : log.info(line, { dependency: 'postgresql' })));
  const service = new TradingService(config, { persistence: opened.persistence, logger: log });
  let ports: { grpcPort: number; adminPort: number };
  try {
    ports = await service.start();
  } catch (err) {
    await opened.close(1_000).catch(() => {});
    throw err;
  }
  const { grpcPort, adminPort } = ports;
  // Signal handlers first: the lines below are written synchronously, and whoever waits for them may
  // send SIGTERM at once (a default SIGTERM would kill the process without draining).
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info(`trading-service: ${signal} received; draining (up to ${config.shutdownGraceMs} ms)`, { event: 'shutdown_started', signal });
    service
      .stop(config.shutdownGraceMs)
      .then(async (how) => {
        const left = await opened.close(config.shutdownGraceMs);
        return { how, left };
      })
      .then(
      ({ how, left }) => {
        log.info(`trading-service: stopped (${how})${left > 0 ? `; ${left} journal entries could not be written (their commands were never acknowledged)` : ''}`, { event: 'stopped', how, unwritten: left });
        process.exit(0);
      },
      (err: unknown) => {
        log.error('trading-service: shutdown failed', err, { event: 'stopped' });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  log.info(`trading-service: journal in ${opened.description}`, { event: 'journal_opened' });
  log.info(
    `trading-service listening for gRPC on ${config.grpcHost}:${grpcPort}; admin HTTP on http://${config.adminHost}:${adminPort} ` +
      `(migration: ${service.instruments.map((i) => describeMigration(service, i.symbol)).join(', ')}` +
      `${config.adminToken ? '; admin token required' : ''}${config.chaosEnabled ? '; CHAOS ENDPOINTS ENABLED' : ''})`,
    { event: 'listening', grpc_port: grpcPort, admin_port: adminPort, grpc_host: config.grpcHost, admin_host: config.adminHost },
  );
  const adminHostInUrl = config.adminHost.includes(':') ? `[${config.adminHost}]` : config.adminHost;
  log.info(`trading-service: Trading UI at http://${adminHostInUrl}:${adminPort}/ui/ (log in with an API key, e.g. the demo key below)`, { event: 'ui', url: `http://${adminHostInUrl}:${adminPort}/ui/` });
  log.info(
    `trading-service: sessions in ${service.sessions.backend === 'redis' ? `Redis (REDIS_URL, prefix ${config.redisPrefix})` : 'the in-process store (no REDIS_URL: lost on restart)'}; ` +
      (config.authMode === 'header' ? 'AUTH_MODE=header: x-account-id is trusted without a session (loopback only)' : 'every OrdersService call needs authorization: Bearer <token> from SessionService.Login'),
    { event: 'sessions', backend: service.sessions.backend },
  );
  // The demo account, so a new user can trade at once (created on first start; every start in-process).
  const localHost = config.grpcHost === '0.0.0.0' || config.grpcHost === '::' ? '127.0.0.1' : config.grpcHost;
  try {
    const demo = await ensureDemoApiKey(service.sessions);
    // The demo key's secret is a credential: shown to a person at a terminal, or on a local start with
    // the in-process session store (keys die with the process); never written into a log stream that
    // outlives it (a collector, Redis-backed keys). The log line names the key id only.
    if (pretty || service.sessions.backend === 'memory') process.stdout.write(`${describeDemoApiKey(demo, `${localHost}:${grpcPort}`, `http://${config.adminHost}:${adminPort}`)}\n`);
    log.info(`demo account "${demo.account}" ready, API key id ${demo.keyId}${demo.created ? ' (created now)' : ''}`, { event: 'demo_account', account: demo.account, keyId: demo.keyId });
  } catch (err) {
    log.error(`trading-service: demo account not set up; create keys with POST /admin/accounts/{account}/api-keys once the session store answers`, err, { event: 'demo_account' });
  }

}

/** The logger once the config is read (a bad variable fails before it exists). */
let fatalLog: ReturnType<typeof createServiceLogger> | undefined;

main().catch((err: unknown) => {
  // One plain line on stderr for the person who started it; the structured record for a log collector.
  fatalLog?.error('trading-service failed to start', err, { event: 'start_failed' });
  console.error('trading-service failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
