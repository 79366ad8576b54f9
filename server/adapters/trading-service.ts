/**
 * The whole service, constructible in-process: instruments → migration controller, circuit breakers,
 * performance monitor, alert tracker, trading gate, the control plane over them (PairControls: one
 * PairControl per pair owning its OrderBookManager of legacy book + FaultyBook(adaptive book), the seam
 * chaos drills use), the trading pairs, the gRPC server, the admin HTTP API, and the timers that drive
 * the ramp, alerts and event-loop sampling (all unref()ed, all cleared on stop). Every operator
 * operation goes through the control plane; this file only wires it and adds metrics and logs. server/main.ts only reads the config and calls start/stop; tests do the same on port 0.
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { DEFAULT_INSTRUMENTS, compileInstrument, type Instrument } from '../core/instrument.ts';
import { AlertTracker, type HealthReport } from '../pairs/alerts.ts';
import { CircuitBreakers } from '../pairs/circuit-breaker.ts';
import type { FaultSwitch } from '../pairs/faulty-book.ts';
import { MigrationController, type RampDecision } from '../pairs/migration-controller.ts';
import type { OrderBookManager } from '../pairs/order-book-manager.ts';
import { LoggedPairControls } from './logging/control-transition-log.ts';
import { PerformanceMonitor } from '../pairs/performance-monitor.ts';
import { TradingPairs } from '../pairs/trading-pairs.ts';
import { PairLifecycle } from './pair-lifecycle.ts';
import { InstrumentCatalog } from './instruments/instrument-catalog.ts';
import { listedPairGate } from './instruments/listed-pair-gate.ts';
import type { Clock } from '../ports/clock.ts';
import type { RecoveryStore } from '../ports/journal.ts';
import type { ClientOrderArchive } from '../ports/client-order-archive.ts';
import { randomUUID } from 'node:crypto';
import type { PairStateStore } from '../ports/pair-state-store.ts';
import type { InstrumentStore } from '../ports/instrument-store.ts';
import { CommandDurability, type DurableJournal } from './durability/command-durability.ts';
import { PairSnapshotter, recoverOnePair, recoverPairs, type RecoveryReport } from './durability/pair-recovery.ts';
import { PairControlPersistence } from './durability/pair-control-persistence.ts';
import type { ServiceConfig } from '../config.ts';
import { headerAuthenticator } from './grpc/auth.ts';
import type { Logger } from './grpc/call-context.ts';
import { TradingGrpcServer, type ShutdownResult } from './grpc/grpc-server.ts';
import { SessionAuthenticator } from './grpc/session-authenticator.ts';
import { openSessionStore, type OpenedSessionStore } from './redis/open-session-store.ts';
import { adminRoutes, type AdminContext } from './http/admin-routes.ts';
import { instrumentRoutes } from './http/instrument-routes.ts';
import { AdminHttpServer } from './http/admin-server.ts';
import { Profiler } from './http/profiling.ts';
import { UiBridge } from './http/ui-bridge.ts';
import { EventLoopMonitor } from './metrics/event-loop-monitor.ts';
import { TradingMetrics } from './metrics/trading-metrics.ts';
import { AdminHttpMetrics } from './metrics/admin-http-metrics.ts';
import { GrpcServerMetrics } from './metrics/grpc-metrics.ts';
import { grpcMetricsInterceptor } from './metrics/grpc-metrics-interceptor.ts';
import { JournalMetrics, type ObservableJournal } from './metrics/journal-metrics.ts';
import { SessionMetrics } from './metrics/session-metrics.ts';
import { grpcTracingInterceptor } from './tracing/grpc-tracing-interceptor.ts';
import { tracedJournal } from './tracing/traced-journal.ts';
import { createTracing, type Tracing } from './tracing/tracing.ts';
import { InstrumentsServiceService } from './grpc/generated/trading/v1/instruments.ts';
import { MarketDataServiceService } from './grpc/generated/trading/v1/market_data.ts';
import { OrdersServiceService } from './grpc/generated/trading/v1/orders.ts';
import { SessionServiceService } from './grpc/generated/trading/v1/sessions.ts';
import { UnavailableError } from '../ports/errors.ts';
import { TradingGate } from '../pairs/trading-gate.ts';
import { CommandRefusals } from './chaos/command-refusals.ts';
import { EventLoopStall, type ChaosSeams } from './chaos/chaos-routes.ts';
import { MemoryBallast } from './chaos/memory-ballast.ts';
import { refusalCountingGate } from './metrics/refusal-counting-gate.ts';
import type { PairOwnershipStore } from '../ports/pair-ownership-store.ts';
import type { BindableFence } from './cluster/bindable-fence.ts';
import { ClusterNode } from './cluster/cluster-node.ts';
import { ownershipGate } from './cluster/ownership-gate.ts';
import { OwnershipMetrics } from './metrics/ownership-metrics.ts';

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicNs: () => process.hrtime.bigint(),
};

/** Messages are passed as data ('%s'), never as console format strings (they may quote client input). */
export const consoleLogger: Logger = {
  info: (m) => console.log('%s', m),
  error: (m, e) => (e === undefined ? console.error('%s', m) : console.error('%s', m, e)),
};

/** How often the ramp gates are judged. A step still waits RAMP_HOLD_MS; this only bounds the lag. */
export const RAMP_TICK_MS = 1_000;
/** How often alerts are evaluated (and their changes logged) without anyone calling /health. */
export const ALERT_TICK_MS = 5_000;
/** Event-loop delay (p90 of the live window) above which the loop counts as stalled in the latency check. */
export const STALLED_LOOP_P90_MS = 500;
/** Event-loop sampling window for delay percentiles and utilization. */
export const EVENT_LOOP_WINDOW_MS = 10_000;

export interface TradingServiceDeps {
  /** @default the system clock */
  clock?: Clock;
  /** @default console */
  logger?: Logger;
  /** @default DEFAULT_INSTRUMENTS */
  instruments?: readonly Instrument[];
  /**
   * The journal, recovery store and pair-state store (PostgreSQL in production). With them every
   * command is journaled before its ack and start() recovers the pairs first; without them the
   * service keeps nothing across a restart (in-memory: benchmarks' baseline, unit tests).
   * @default undefined
   */
  persistence?: ServicePersistence;
  /**
   * The session store (API keys, sessions, rate limits, idempotency fast path).
   * @default openSessionStore from the config: Redis with REDIS_URL, else in-process
   */
  sessions?: OpenedSessionStore;
  /**
   * Traces (OpenTelemetry). @default from the config: OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is
   * set, else off
   */
  tracing?: Tracing;
}

/** How long start() waits for Redis before starting without it (sessions then come up when it does). */
export const SESSION_STORE_READY_MS = 2_000;

export interface ServicePersistence {
  journal: DurableJournal;
  recovery: RecoveryStore;
  pairState: PairStateStore;
  /**
   * The listed instruments (`instruments` table): read at start (config seeds and updates it), written by
   * every listing change at runtime. @default none (instruments from config or defaults, changes not kept)
   */
  instruments?: InstrumentStore;
  /** The orders table as the record of client order ids (idempotency beyond registry and store). @default none */
  clientOrders?: ClientOrderArchive;
  /**
   * The database's identity: Redis idempotency records are kept under it, so a reset or different
   * database never answers from records of orders it does not hold. @default a random id per process
   */
  databaseId?: string;
  /**
   * CLUSTER_MODE=postgres: the lease store and the journal's fence (bound to this replica's ownership
   * at start). Pairs are then served only while owned (docs/cluster.md). @default undefined (one process owns every pair)
   */
  cluster?: { store: PairOwnershipStore; fence: BindableFence };
}

export interface ListeningPorts {
  grpcPort: number;
  adminPort: number;
}

const MIB = 1024 * 1024;

/** grpc.health.v1 as grpc-js describes methods, so its series exist from start too. */
const GRPC_HEALTH_METHODS = {
  check: { path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false },
  watch: { path: '/grpc.health.v1.Health/Watch', requestStream: false, responseStream: true },
};
const round2 = (x: number): number => Math.round(x * 100) / 100;

/** The 'slow' fault of a chaos drill really occupies the thread, like a slow book would. */
function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

export class TradingService {
  readonly config: ServiceConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly migration: MigrationController;
  readonly breakers: CircuitBreakers;
  readonly monitor: PerformanceMonitor;
  readonly alerts: AlertTracker;
  readonly gate: TradingGate;
  /** The control plane of every pair: every operator operation goes through it (server/pairs/pair-controls.ts). */
  readonly control: LoggedPairControls;
  readonly faults: ReadonlyMap<string, FaultSwitch>;
  /** The chaos seams (memory ballast, stall, refusals); undefined unless CHAOS_ENABLED. */
  readonly chaos: ChaosSeams | undefined;
  /** Each pair's order-book manager (owned by its PairControl; read here for status and tests). */
  readonly managers: ReadonlyMap<string, OrderBookManager>;
  /** Where every pair comes into and goes out of the service (pair-lifecycle.ts). */
  readonly lifecycle: PairLifecycle;
  /** The listed instruments: start-up precedence and every runtime change (instruments/instrument-catalog.ts). */
  readonly catalog: InstrumentCatalog;
  readonly pairs: TradingPairs;
  readonly metrics: TradingMetrics;
  /** gRPC server, admin HTTP, journal and session-store metrics, all in `metrics.registry`. */
  readonly grpcMetrics: GrpcServerMetrics;
  readonly adminMetrics: AdminHttpMetrics;
  readonly journalMetrics: JournalMetrics | undefined;
  readonly sessionMetrics: SessionMetrics;
  readonly tracing: Tracing;
  private readonly ownsTracing: boolean;
  readonly eventLoop = new EventLoopMonitor();
  readonly profiler = new Profiler();
  readonly grpc: TradingGrpcServer;
  readonly admin: AdminHttpServer;
  /** The Trading UI at /ui/ on the admin listener (http/ui-bridge.ts). */
  readonly ui: UiBridge;
  private grpcAddress: string | undefined;
  /** Sessions: the store (Redis or in-process) and whether it is reachable. */
  readonly sessions: OpenedSessionStore;
  readonly sessionAuth: SessionAuthenticator;
  /** Ack-after-durable gate and recorder; undefined without persistence. */
  readonly durability: CommandDurability | undefined;
  readonly snapshotter: PairSnapshotter | undefined;
  /** This replica in a cluster (CLUSTER_MODE=postgres); undefined when one process owns every pair. */
  readonly cluster: ClusterNode | undefined;
  /** Migration and breaker state kept across restarts (PairStateStore); undefined without persistence. */
  private controlState: PairControlPersistence | undefined;
  private readonly persistence: ServicePersistence | undefined;
  /** What start-up recovery did; undefined before it ran (or without persistence). */
  recoveryReport: RecoveryReport | undefined;
  private recovering = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private serving = false;
  private stopPromise: Promise<ShutdownResult> | undefined;
  private readonly startedAtMs: number;
  /**
   * RSS samples (every ALERT_TICK_MS) for the memory growth rate and the `memory_growth_high` alert ("memory
   * leak detection"): the last max(1 min, MEMORY_GROWTH_WINDOW_MS) plus one older sample (bounded by the tick).
   */
  private readonly memorySamples: { atMs: number; rssMiB: number }[] = [];
  private lastCpu = process.cpuUsage();
  private lastCpuAtMs = Date.now();

  constructor(config: ServiceConfig, deps: TradingServiceDeps = {}) {
    this.config = config;
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? consoleLogger;
    const instruments = deps.instruments ?? config.instruments ?? DEFAULT_INSTRUMENTS.map(compileInstrument);
    this.startedAtMs = Date.now();
    this.ownsTracing = deps.tracing === undefined;
    this.tracing = deps.tracing ?? createTracing({ endpoint: config.otelEndpoint, serviceName: config.otelServiceName });
    const tracing = this.tracing;
    this.migration = new MigrationController([], this.clock, {
      rampSteps: config.rampSteps,
      holdMs: config.rampHoldMs,
      initialState: config.migrationInitialState,
    });
    this.breakers = new CircuitBreakers([], this.clock, { latencyBudgetMs: config.breakerLatencyBudgetMs });
    this.monitor = new PerformanceMonitor(this.clock);
    this.alerts = new AlertTracker(this.clock, {
      thresholds: { memoryGrowthMiBPerMinute: config.memoryGrowthAlertMiBPerMinute, memoryGrowthWindowMs: config.memoryGrowthWindowMs },
    });
    this.gate = new TradingGate(this.clock);
    this.control = new LoggedPairControls({ migration: this.migration, breakers: this.breakers, gate: this.gate, monitor: this.monitor, clock: this.clock }, this.logger);
    this.metrics = new TradingMetrics({ pairs: [], dependencies: () => this.dependencies(), monitor: this.monitor, breakers: this.breakers, migration: this.migration, eventLoop: this.eventLoop, gate: this.gate, memoryGrowthBytesPerSecond: () => Math.round((this.memoryGrowthMiBPerMinute() * MIB) / 60) });
    this.alerts.subscribe((c) => {
      const alertFields = (a: { name: string; level: number; severity: string; pairs?: string[]; dependencies?: string[] }) => ({
        alert: a.name,
        level: a.level,
        severity: a.severity,
        ...(a.pairs ? { pairs: a.pairs } : {}),
        ...(a.dependencies ? { dependencies: a.dependencies } : {}),
      });
      for (const a of c.raised) (this.logger.warn ?? this.logger.info).call(this.logger, `alert raised: ${a.name} (level ${a.level}, ${a.severity}): ${a.message}`, { event: 'alert_raised', ...alertFields(a) });
      for (const a of c.changed) this.logger.info(`alert changed: ${a.name} (level ${a.level}): ${a.message}`, { event: 'alert_changed', ...alertFields(a) });
      for (const a of c.resolved) this.logger.info(`alert resolved: ${a.name}`, { event: 'alert_resolved', ...alertFields(a) });
      if (c.status !== c.previousStatus) this.logger.info(`health: ${c.previousStatus} → ${c.status}`, { event: 'health_changed', from: c.previousStatus, to: c.status });
    });

    // Every pair comes and goes through the lifecycle (pair-lifecycle.ts): books, control, metrics, subscriptions.
    this.lifecycle = new PairLifecycle({ control: this.control, monitor: this.monitor, metrics: this.metrics, tracing, logger: this.logger, busyWait });
    this.faults = this.lifecycle.faults;
    this.managers = this.lifecycle.managers;
    this.pairs = new TradingPairs({
      instruments: [],
      createBook: this.lifecycle.createBook,
      clock: this.clock,
      onSubscriberError: (err) => this.logger.error('subscriber failed and was removed', err),
      maxClosedOrders: config.limits.closedOrdersRetained,
      maxClosedOrdersPerAccount: Math.min(config.limits.closedOrdersPerAccount, config.limits.closedOrdersRetained),
      // Only the orders table is asked about forgotten client order ids: in memory nothing reads the filter.
      forgottenFilterBits: deps.persistence === undefined ? 0 : undefined,
    });
    this.lifecycle.bind(this.pairs);
    for (const instrument of instruments) this.lifecycle.attach(instrument);

    // Pair creation is logged by the recovery and manager lines; transitions from here on get their own line.
    this.control.transitions.prime();

    this.persistence = deps.persistence;
    if (deps.persistence !== undefined) {
      const { journal, recovery } = deps.persistence;
      const nowMs = () => Date.now();
      this.durability = new CommandDurability(tracing.enabled ? tracedJournal(journal, tracing.tracer) : journal, this.logger, config.snapshotEveryCommands);
      const snapshotter = new PairSnapshotter({ recovery, journal, durability: this.durability, logger: this.logger, nowMs });
      this.snapshotter = snapshotter;
      this.durability.onSnapshotDue = (pair) => setImmediate(() => void (this.cluster === undefined || this.cluster.holds(pair.symbol) ? snapshotter.take(pair) : undefined));
      const clusterDeps = deps.persistence.cluster;
      if (clusterDeps !== undefined) {
        const ownershipMetrics = new OwnershipMetrics(this.metrics.registry, () => this.pairs.list().map((p) => p.symbol), (pair) => this.cluster?.serves(pair) ?? false);
        this.cluster = new ClusterNode({
          config: config.cluster,
          store: clusterDeps.store,
          fence: clusterDeps.fence,
          pairs: this.pairs,
          managers: this.managers,
          control: this.control,
          pairState: deps.persistence.pairState,
          durability: this.durability,
          journal,
          recovery,
          snapshotter,
          endStreamsOf: (pair, reason) => this.grpc.endStreamsOf(pair, reason),
          logger: this.logger,
          onChange: (pair, change) => ownershipMetrics.changed(pair, change),
        });
      } else {
        this.cluster = undefined;
      }
      // In a cluster only the pairs this replica serves are saved (the owner's state is the pair's).
      this.controlState = new PairControlPersistence(deps.persistence.pairState, this.cluster?.servedControl() ?? this.control, this.logger);
      const durability = this.durability;
      this.journalMetrics = new JournalMetrics(this.metrics.registry, {
        journal: journal as DurableJournal & ObservableJournal,
        pairSequences: () => this.pairs.list().map((p) => ({ pair: p.symbol, applied: p.lastCommandSequence, durable: durability.pairStatus(p.symbol)?.durable ?? p.lastCommandSequence })),
      });
    } else {
      this.journalMetrics = undefined;
      this.cluster = undefined;
      this.durability = undefined;
      this.snapshotter = undefined;
    }

    this.sessions =
      deps.sessions ??
      openSessionStore({
        clock: this.clock,
        redisUrl: config.redisUrl,
        redisPrefix: config.redisPrefix,
        // Without a database nothing survives a restart, so neither may the records describing it.
        idempotencyScope: deps.persistence?.databaseId ?? `process-${randomUUID()}`,
        offlineGraceMs: config.redisOfflineGraceMs,
        idempotencyTtlMs: config.idempotencyTtlMs,
        maxSessionsPerAccount: config.limits.sessionsPerAccount,
        maxClientOrders: config.limits.idempotencyRecords,
        maxClientOrdersPerAccount: config.limits.idempotencyRecordsPerAccount,
        maxSessionTtlMs: config.sessionTtlMs,
        rateLimitPerSecond: config.rateLimitPerSecond,
        rateLimitBurst: config.rateLimitBurst,
        onStateChange: (online, detail) =>
          online
            ? this.logger.info(`sessions: Redis reachable again (${detail})`, { event: 'dependency_up', dependency: 'redis' })
            : this.logger.error(`sessions: Redis unreachable; validated sessions keep working for up to ${config.redisOfflineGraceMs} ms, new logins fail: ${detail}`, undefined, { event: 'dependency_down', dependency: 'redis' }),
      });
    this.sessionAuth = new SessionAuthenticator(this.sessions.store);
    const statusOf = (this.sessions.store as { status?: () => { cachedSessions: number } }).status;
    this.sessionMetrics = new SessionMetrics(this.metrics.registry, {
      backend: this.sessions.backend,
      isOnline: () => this.sessions.isOnline(),
      cachedSessions: statusOf === undefined ? undefined : () => statusOf.call(this.sessions.store).cachedSessions,
    });
    this.grpcMetrics = new GrpcServerMetrics(this.metrics.registry);
    this.grpcMetrics.registerMethods([OrdersServiceService, MarketDataServiceService, InstrumentsServiceService, SessionServiceService, GRPC_HEALTH_METHODS]);
    const control = this.control;
    const pairs = this.pairs;
    const chaos: ChaosSeams | undefined = config.chaosEnabled
      ? {
          ballast: new MemoryBallast(config.chaosMaxBallastMiB),
          stall: new EventLoopStall(),
          refusals: new CommandRefusals(),
          get pairs() {
            return control.pairs();
          },
          rssMiB: () => round2(process.memoryUsage.rss() / MIB),
          logger: this.logger,
        }
      : undefined;
    this.chaos = chaos;
    this.lifecycle.bindLate({ durability: this.durability, snapshotter: this.snapshotter, controlState: this.controlState, refusals: chaos?.refusals });
    const durability = this.durability;
    const persistence = deps.persistence;
    this.catalog = new InstrumentCatalog({
      lifecycle: this.lifecycle,
      pairs: this.pairs,
      control: this.control,
      store: persistence?.instruments,
      configured: deps.instruments !== undefined || config.instruments !== undefined,
      maxInstruments: config.maxInstruments,
      recover:
        persistence === undefined || durability === undefined
          ? undefined
          : async (pair) => {
              const r = await recoverOnePair({ pairs: this.pairs, recovery: persistence.recovery, journal: persistence.journal, durability, logger: this.logger, nowMs: () => Date.now() }, pair);
              if (r.error !== undefined) throw new UnavailableError('postgresql', `${pair.symbol}: its journal could not be recovered: ${r.error}`);
              return r.replayed;
            },
      snapshot:
        this.snapshotter === undefined
          ? undefined
          : async (pair) => {
              const through = pair.lastCommandSequence;
              await this.snapshotter!.take(pair);
              if ((this.snapshotter!.lastStored.get(pair.symbol)?.sequence ?? -1) < through)
                throw new UnavailableError('postgresql', `no snapshot of ${pair.symbol} through command ${through} could be stored (see the log); nothing changed, retry`);
            },
      settled: durability === undefined ? undefined : (pair) => durability.settled(pair),
      attachJournal: durability === undefined ? undefined : (pair) => durability.attach(pair, 0),
      logger: this.logger,
      nowIso: () => new Date(this.clock.nowMs()).toISOString(),
      ...(this.cluster !== undefined
        ? { frozen: 'CLUSTER_MODE=postgres: the listed pairs are read at start (INSTRUMENTS_FILE, INSTRUMENTS or the instruments table) and every replica must hold the same; change them there and restart the replicas one by one (docs/cluster.md)' }
        : {}),
    });
    // Commands refused before they are applied (journal down, chaos) count as failed served commands.
    const cluster = this.cluster;
    const gate = refusalCountingGate({
      inner: cluster === undefined ? this.durability : ownershipGate(this.durability, cluster),
      inject: chaos === undefined ? undefined : (pair) => chaos.refusals.check(pair),
      onRefused: (pair, err) => {
        const m = this.managers.get(pair);
        this.monitor.recordCommand(pair, m !== undefined && !m.books.legacy ? 'adaptive' : 'legacy', 'served', 0, false);
        this.monitor.recordError(pair, 'unavailable', err.dependency);
        this.metrics.error(pair, 'unavailable');
      },
    });
    this.grpc = new TradingGrpcServer({
      pairs: this.pairs,
      logger: this.logger,
      newOrderGate: {
        checkNewOrders: (pair) => {
          const refusal = this.gate.refusal(pair);
          if (refusal !== undefined) throw new UnavailableError('trading', refusal);
        },
      },
      durability: listedPairGate(gate, this.pairs),
      clientOrderArchive: deps.persistence?.clientOrders,
      sessions: {
        store: this.sessionMetrics.instrument(this.sessions.store),
        authenticator: this.sessionAuth,
        sessionTtlMs: config.sessionTtlMs,
        rateLimitBurst: config.rateLimitBurst,
        loginThrottle: {
          freeFailuresPerKey: config.limits.loginFreeFailuresPerKey,
          freeFailuresPerPeer: config.limits.loginFreeFailuresPerPeer,
          backoffBaseMs: config.limits.loginBackoffBaseMs,
          backoffMaxMs: config.limits.loginBackoffMaxMs,
        },
      },
      interceptors: [...(tracing.enabled ? [grpcTracingInterceptor(tracing.tracer)] : []), grpcMetricsInterceptor(this.grpcMetrics, { onReceiveMetadata: this.sessionAuth.onReceiveMetadata })],
      maxOpenOrdersPerAccount: config.limits.maxOpenOrdersPerAccount,
      marketDataLimits: {
        callsPerSecondPerPeer: config.limits.marketDataCallsPerSecondPerPeer,
        burstPerPeer: config.limits.marketDataBurstPerPeer,
        maxInFlightPerPeer: config.limits.marketDataMaxInFlightPerPeer,
        floodRefusals: config.limits.marketDataFloodRefusals,
      },
      streamLimits: {
        maxQueuedBytesPerStream: config.limits.maxQueuedBytesPerStream,
        maxQueuedBytesTotal: config.limits.maxQueuedBytesTotal,
        maxStreams: config.limits.maxStreams,
        maxStreamsPerAccount: config.limits.maxStreamsPerAccount,
        maxStreamsPerPeer: config.limits.maxStreamsPerPeer,
      },
      connectionLimits: {
        maxConnections: config.limits.maxConnections,
        maxConnectionsPerPeer: config.limits.maxConnectionsPerPeer,
        prefaceTimeoutMs: config.limits.prefaceTimeoutMs,
        abusePenaltyMs: config.limits.abusePenaltyMs,
        maxConnectionIdleMs: config.limits.maxConnectionIdleMs,
        keepaliveTimeMs: config.limits.keepaliveTimeMs,
        keepaliveTimeoutMs: config.limits.keepaliveTimeoutMs,
        maxConcurrentStreams: config.limits.maxConcurrentStreams,
        reservedDescriptors: config.limits.reservedDescriptors,
      },
      // AUTH_MODE=header (loopback only, see config.ts): x-account-id is trusted; Login still works.
      authenticator: config.authMode === 'header' ? headerAuthenticator : undefined,
    });
    const ctx: AdminContext = {
      control: this.control,
      monitor: this.monitor,
      alerts: this.alerts,
      metrics: this.metrics,
      profiler: this.profiler,
      eventLoop: this.eventLoop,
      faults: config.chaosEnabled ? this.faults : undefined,
      ...(chaos !== undefined ? { chaos } : {}),
      health: () => this.health(),
      resources: () => this.resources(),
      serviceCounts: () => ({
        'open gRPC streams': this.grpc.openStreamCount,
        'trading pairs': this.managers.size,
        'pairs in dual-run': [...this.managers.values()].filter((m) => m.books.legacy && m.books.adaptive).length,
        'shadow commands pending': [...this.managers.values()].reduce((a, m) => a + m.books.pendingShadow, 0),
      }),
      logger: this.logger,
      persistence: () => this.persistenceStatus(),
      cluster: () => this.cluster?.status() ?? { mode: 'off' },
      apiKeys: { create: (account) => this.sessions.store.createApiKey(account), revoke: (keyId) => this.sessions.store.revokeApiKey(keyId) },
    };
    this.ui = new UiBridge({
      pairs: this.pairs,
      get instruments() {
        return pairs.list().map((p) => p.instrument);
      },
      monitor: this.monitor,
      grpcAddress: () => this.grpcAddress,
      distDir: fileURLToPath(new URL('../../ui/dist', import.meta.url)),
      chaosEnabled: config.chaosEnabled,
      authMode: config.authMode,
      logger: this.logger,
    });
    const routes = [...adminRoutes(ctx), ...instrumentRoutes(this.catalog), ...this.ui.routes()];
    const adminMetrics = (this.adminMetrics = new AdminHttpMetrics(this.metrics.registry, routes));
    this.admin = new AdminHttpServer({ routes, token: config.adminToken, logger: this.logger, observe: (m, r, st, sec) => adminMetrics.observe(m, r, st, sec) });
  }

  /** The instruments traded now, by symbol. */
  get instruments(): readonly Instrument[] {
    return this.pairs.list().map((p) => p.instrument);
  }

  /** Listens on both ports (0 picks free ones) and starts the timers; resolves to the bound ports. */
  async start(): Promise<ListeningPorts> {
    let adminPort: number;
    try {
      adminPort = await this.admin.listen(this.config.adminHost, this.config.adminPort);
    } catch (err) {
      throw new Error(`admin HTTP API cannot listen on ${this.config.adminHost}:${this.config.adminPort} (ADMIN_HOST/ADMIN_PORT): ${(err as Error).message}`);
    }
    let grpcPort: number;
    try {
      // Recovery first: gRPC does not listen (and /health answers 503, grpc NOT_SERVING) until every
      // pair is back to its last durable command.
      await this.catalog.open(); // the listed set (config, table, defaults) before anything is recovered
      await this.recover();
      await this.catalog.applyConfigured(); // configured rules differing from the stored ones, now that their journal is replayed
      for (const m of this.managers.values()) m.endStartup(); // "adaptive-started" once per pair, after recovery
      await this.waitForSessionStore();
      grpcPort = await this.grpc.listen(this.config.grpcHost, this.config.grpcPort);
    } catch (err) {
      await this.admin.close(0);
      throw err;
    }
    this.serving = true;
    const grpcHost = this.config.grpcHost === '0.0.0.0' ? '127.0.0.1' : this.config.grpcHost === '::' ? '::1' : this.config.grpcHost;
    this.grpcAddress = grpcHost.includes(':') ? `[${grpcHost}]:${grpcPort}` : `${grpcHost}:${grpcPort}`;
    if (this.cluster !== undefined) {
      // Without CLUSTER_ADVERTISE_*: the listeners, a wildcard host as loopback (like grpcAddress).
      const host = this.config.adminHost === '0.0.0.0' ? '127.0.0.1' : this.config.adminHost === '::' ? '::1' : this.config.adminHost;
      const adminHost = host.includes(':') ? `[${host}]` : host;
      try {
        await this.cluster.start(this.grpcAddress, `http://${adminHost}:${adminPort}`);
      } catch (err) {
        await this.grpc.shutdown(0);
        await this.admin.close(0);
        throw new Error(`cluster: joining through PostgreSQL failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
    this.ui.start();
    this.eventLoop.start();
    this.profiler.startHeapSampling();
    this.every(RAMP_TICK_MS, () => this.tickRamps());
    this.every(ALERT_TICK_MS, () => this.sampleMemory());
    this.every(ALERT_TICK_MS, () => this.health());
    this.every(EVENT_LOOP_WINDOW_MS, () => this.eventLoop.sample());
    if (this.controlState !== undefined) this.every(RAMP_TICK_MS, () => this.controlState!.saveChanged());
    if (this.snapshotter !== undefined && this.config.snapshotIntervalMs > 0) this.every(this.config.snapshotIntervalMs, () => this.snapshotChangedPairs());
    return { grpcPort, adminPort };
  }

  /**
   * Gives Redis SESSION_STORE_READY_MS to answer, then starts anyway: the store keeps reconnecting, health
   * shows it DEGRADED, logins fail clearly until it is back. Resolves at once for the in-process store.
   */
  private async waitForSessionStore(): Promise<void> {
    try {
      await this.sessions.ready(SESSION_STORE_READY_MS);
    } catch (err) {
      this.logger.error(`sessions: Redis not reachable at start-up; starting without it (logins fail until it answers)`, err instanceof Error ? err.message : err);
    }
  }

  /** Restores every pair from its latest snapshot and the journal after it; attaches the journal. */
  private async recover(): Promise<void> {
    const p = this.persistence;
    // In a cluster a pair is recovered when this replica acquires it (ClusterNode), not at start.
    if (p === undefined || this.durability === undefined || this.cluster !== undefined) return;
    this.recovering = true;
    try {
      // Migration and breaker state first, so the replay already runs on the books the pair will serve from.
      await this.controlState?.restore();
      this.control.transitions.prime(); // restored state is logged by the restore itself
      for (const m of this.managers.values()) m.beginReplay();
      try {
        this.recoveryReport = await recoverPairs({ pairs: this.pairs, recovery: p.recovery, journal: p.journal, durability: this.durability, logger: this.logger, nowMs: () => Date.now() });
        this.snapshotter?.noteRecovered(this.recoveryReport);
      } finally {
        for (const m of this.managers.values()) m.endReplay();
      }
    } finally {
      this.recovering = false;
    }
    const r = this.recoveryReport;
    const replayed = r.pairs.reduce((a, x) => a + x.replayed, 0);
    const failed = r.pairs.filter((x) => x.error !== undefined).map((x) => x.pair);
    this.logger.info(`recovery: ${r.pairs.length} pairs, ${replayed} journal entries replayed in ${r.durationMs} ms${failed.length ? `; FAILED (stopped): ${failed.join(', ')}` : ''}`, { event: 'recovery_done', pairs: r.pairs.length, replayed, duration_ms: r.durationMs, failed });
  }

  /** Snapshots every pair that changed since its last snapshot (the timer; also at a graceful stop). */
  async snapshotChangedPairs(): Promise<void> {
    const snapshotter = this.snapshotter;
    const durability = this.durability;
    if (snapshotter === undefined || durability === undefined) return;
    for (const pair of this.pairs.list()) {
      if (this.cluster !== undefined && !this.cluster.holds(pair.symbol)) continue; // another replica's to snapshot
      if (durability.commandsSinceSnapshot(pair.symbol) > 0) await snapshotter.take(pair);
    }
  }

  /** `/admin/persistence/status`: journal health, per-pair sequences, snapshots, recovery. */
  persistenceStatus(): Record<string, unknown> {
    const d = this.durability;
    if (d === undefined || this.persistence === undefined) return { enabled: false };
    const journal = this.persistence.journal.status();
    return {
      enabled: true,
      journal: { available: journal.available, pending_entries: journal.pendingEntries, last_error: journal.lastError ?? null },
      recovering: this.recovering,
      recovery: this.recoveryReport ?? null,
      pairs: this.pairs.list().map((pair) => {
        const s = d.pairStatus(pair.symbol);
        const snap = this.snapshotter?.lastStored.get(pair.symbol);
        return {
          pair: pair.symbol,
          applied_sequence: pair.lastCommandSequence,
          durable_sequence: s?.durable ?? 0,
          held_publications: s?.held ?? 0,
          stopped: s?.fenced ?? null,
          state_hash: pair.stateHash(),
          commands_since_snapshot: d.commandsSinceSnapshot(pair.symbol),
          last_snapshot: snap === undefined ? null : { sequence: snap.sequence, at: new Date(snap.atMs).toISOString(), resting_orders: snap.orders, loaded_at_start: snap.loadedAtStart },
        };
      }),
      snapshot_failures: this.snapshotter?.failures ?? 0,
    };
  }

  /**
   * Graceful stop: timers cleared, gRPC drained as before (health NOT_SERVING, streams ended, in-flight
   * calls finish within `graceMs`), /health answering 503 meanwhile; then the admin API closes.
   */
  stop(graceMs: number = this.config.shutdownGraceMs): Promise<ShutdownResult> {
    if (this.stopPromise !== undefined) return this.stopPromise;
    this.serving = false;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    this.stopPromise = (async () => {
      // A cluster replica hands its pairs over first (snapshot, release) while gRPC still answers with
      // where they went, so another replica takes them at its next tick instead of after the lease.
      await this.cluster?.stop().catch((err: unknown) => this.logger.error('cluster: hand-over at stop failed (the leases expire instead)', err));
      this.ui.close(); // ends the UI's streams and its loopback gRPC client first
      const how = await this.grpc.shutdown(graceMs);
      // A last snapshot shortens the next start; skipped while PostgreSQL is down (it would wait).
      if (this.durability?.isAvailable) await this.snapshotChangedPairs().catch((err: unknown) => this.logger.error('final snapshot failed', err));
      this.durability?.close();
      this.journalMetrics?.close();
      await this.sessions.store.close().catch((err: unknown) => this.logger.error('closing the session store failed', err));
      await this.admin.close(Math.min(graceMs, 1_000));
      this.lifecycle.close(); // the pairs' trade subscriptions
      this.eventLoop.stop();
      this.profiler.stopHeapSampling();
      if (this.ownsTracing) await this.tracing.shutdown().catch((err: unknown) => this.logger.error('flushing traces failed', err));
      return how;
    })();
    return this.stopPromise;
  }

  /** One evaluation of every running ramp against its pair's measured health (PairControls.tickRamps), logged. */
  tickRamps(): RampDecision[] {
    const decisions = this.control.tickRamps();
    for (const d of decisions) {
      if (d.action === 'idle' || d.action === 'holding') continue;
      this.logger.info(`migration ramp ${d.pair}: ${d.action} → ${d.state} ${d.percentage} %${d.reason ? `: ${d.reason}` : ''}`, {
        event: 'migration_ramp',
        pair: d.pair,
        action: d.action,
        state: d.state,
        percentage: d.percentage,
        ...(d.reason ? { reason: d.reason } : {}),
      });
    }
    return decisions;
  }

  /** The dependencies health() judges, each up or not (`trading_dependency_up`). */
  dependencies(): { name: string; up: boolean; required: boolean }[] {
    const deps = [{ name: 'grpc', up: this.serving && !this.grpc.isShuttingDown, required: true }];
    if (this.durability !== undefined) deps.push({ name: 'postgresql', up: this.durability.isAvailable, required: true });
    if (this.sessions.backend === 'redis') deps.push({ name: 'redis', up: this.sessions.isOnline(), required: false });
    return deps;
  }

  /** The runbook thresholds evaluated now, plus service facts; UNHEALTHY when gRPC is not serving. */
  health(): HealthReport & { service: Record<string, unknown>; trading: ReturnType<TradingGate['status']> } {
    const grpcServing = this.serving && !this.grpc.isShuttingDown;
    const figures = this.monitor.current();
    // A command waits for the one JavaScript thread before any book sees it, and a stall shows in no book
    // timing: when the loop is stalled by its own work — p90 of the live window's delay above
    // STALLED_LOOP_P90_MS while the loop was busy (utilization >= 0.9) for at least a second — that delay
    // is a floor of what clients wait. Shorter delays (CPU contention on a shared machine, a test process
    // busy with its own work) are left to the book figures: the bar is set where nothing but a stall gets.
    const loop = this.serving ? this.eventLoop.stats().current : undefined;
    const loopP90 = loop?.delay_p90_ms ?? 0;
    const loopBlocked = loop !== undefined && loop.window_seconds >= 1 && loop.utilization >= 0.9 && loopP90 > STALLED_LOOP_P90_MS;
    const loopDelayMs = loopBlocked ? loopP90 : 0;
    const report = this.alerts.evaluate({ ...figures, latency_p95_ms: Math.max(figures.latency_p95_ms, loopDelayMs) }, {
      memoryMiB: round2(process.memoryUsage.rss() / MIB),
      breakersOpen: this.breakers.openPairs(),
      tradingHalted: this.gate.isHalted,
      maintenance: this.gate.isInMaintenance,
      dependenciesDown: [...(grpcServing ? [] : ['grpc']), ...(this.durability !== undefined && !this.durability.isAvailable ? ['postgresql'] : [])],
      // Redis down is DEGRADED: validated sessions ride on the local cache for the grace period.
      dependenciesDegraded: this.sessions.isOnline() ? [] : ['redis'],
      memorySamples: this.memorySamples,
    });
    return {
      ...report,
      service: {
        grpc: grpcServing ? 'SERVING' : 'NOT_SERVING',
        book_latency_p95_ms: figures.latency_p95_ms,
        event_loop_delay_p90_ms: loopP90,
        event_loop_utilization: loop?.utilization ?? 0,
        uptime_seconds: round2((Date.now() - this.startedAtMs) / 1000),
        pairs: this.managers.size,
        migration_emergency_stopped: this.migration.isEmergencyStopped,
        recovering: this.recovering,
        persistence: this.durability === undefined ? 'memory' : this.durability.isAvailable ? 'postgresql' : 'postgresql UNAVAILABLE',
        sessions: { backend: this.sessions.backend, online: this.sessions.isOnline(), auth_mode: this.config.authMode },
      },
      trading: this.gate.status(),
    };
  }

  private sampleMemory(): void {
    const now = Date.now();
    this.memorySamples.push({ atMs: now, rssMiB: process.memoryUsage.rss() / MIB });
    const keepMs = Math.max(60_000, this.alerts.thresholds.memoryGrowthWindowMs);
    while (this.memorySamples.length > 2 && now - this.memorySamples[1]!.atMs >= keepMs) this.memorySamples.shift();
  }

  /**
   * Resident memory growth over the last minute of samples, MiB per minute (0 until two samples exist):
   * the runbook's "Monitor memory growth rate" (Scenario 3) without kubectl.
   */
  memoryGrowthMiBPerMinute(): number {
    const all = this.memorySamples;
    const latest = all[all.length - 1];
    const s = latest === undefined ? all : all.filter((x) => latest.atMs - x.atMs <= 60_000);
    if (s.length < 2) return 0;
    const first = s[0]!;
    const last = s[s.length - 1]!;
    const minutes = (last.atMs - first.atMs) / 60_000;
    return minutes <= 0 ? 0 : round2((last.rssMiB - first.rssMiB) / minutes);
  }

  /** `/admin/system/resources`: memory in MiB, CPU, event loop, handles. */
  resources(): Record<string, unknown> {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    const nowMs = Date.now();
    const elapsedUs = Math.max(1, (nowMs - this.lastCpuAtMs) * 1000);
    const used = cpu.user - this.lastCpu.user + (cpu.system - this.lastCpu.system);
    this.lastCpu = cpu;
    this.lastCpuAtMs = nowMs;
    const el = this.eventLoop.latest();
    const resources = process.getActiveResourcesInfo();
    const byType: Record<string, number> = {};
    for (const r of resources) byType[r] = (byType[r] ?? 0) + 1;
    return {
      at: new Date(nowMs).toISOString(),
      pid: process.pid,
      node_version: process.version,
      uptime_seconds: round2(process.uptime()),
      memory: {
        unit: 'MiB',
        rss_mib: round2(mem.rss / MIB),
        heap_used_mib: round2(mem.heapUsed / MIB),
        heap_total_mib: round2(mem.heapTotal / MIB),
        external_mib: round2(mem.external / MIB),
        array_buffers_mib: round2(mem.arrayBuffers / MIB),
        threshold_mib: this.alerts.thresholds.memoryMiB,
        growth_mib_per_minute: this.memoryGrowthMiBPerMinute(),
      },
      cpu: {
        user_seconds: round2(cpu.user / 1e6),
        system_seconds: round2(cpu.system / 1e6),
        /** Share of one core used since the previous call of this endpoint (1 = one core busy). */
        utilization_since_last_call: round2(used / elapsedUs),
      },
      event_loop: {
        delay_p50_ms: el.delay_p50_ms,
        delay_p99_ms: el.delay_p99_ms,
        delay_max_ms: el.delay_max_ms,
        utilization: el.utilization,
        window_seconds: el.window_seconds,
      },
      active_handles: { total: resources.length, by_type: byType },
      grpc_open_streams: this.grpc.openStreamCount,
    };
  }

  private every(ms: number, run: () => unknown): void {
    const t = setInterval(() => {
      try {
        run();
      } catch (err) {
        this.logger.error('periodic task failed', err);
      }
    }, ms);
    t.unref();
    this.timers.push(t);
  }
}
