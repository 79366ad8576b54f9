/** Every drill, in the order `npm run chaos` runs them. */
import type { Drill } from '../drill.ts';
import { drill as adaptiveException } from './adaptive-exception.ts';
import { drill as adaptiveDivergence } from './adaptive-divergence.ts';
import { drill as adaptiveLatency } from './adaptive-latency.ts';
import { drill as servedLatency } from './served-latency.ts';
import { drill as multipleBreakers } from './multiple-breakers.ts';
import { drill as errorRate } from './error-rate.ts';
import { drill as memoryPressure } from './memory-pressure.ts';
import { drill as postgresDown } from './postgres-down.ts';
import { drill as postgresSlow } from './postgres-slow.ts';
import { drill as postgresBlackhole } from './postgres-blackhole.ts';
import { drill as postgresResetPeer } from './postgres-reset-peer.ts';
import { drill as redisDown } from './redis-down.ts';
import { drill as kill9 } from './kill9.ts';
import { drill as eventLoopStall } from './event-loop-stall.ts';

export const DRILLS: readonly Drill[] = [
  adaptiveException,
  adaptiveDivergence,
  adaptiveLatency,
  servedLatency,
  multipleBreakers,
  errorRate,
  memoryPressure,
  postgresDown,
  postgresSlow,
  postgresBlackhole,
  postgresResetPeer,
  redisDown,
  kill9,
  eventLoopStall,
];
