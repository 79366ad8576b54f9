/**
 * The load a drill runs against the service: the market simulator's gRPC driver (simulator/grpc-driver.ts),
 * its agents trading over OrderFlow/batches with API keys made through the admin API, every acknowledged
 * command in its ledger by client order id. This module only adapts the simulator's handle to what the
 * drills need; it generates no orders itself.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { AckedOrder } from './ledger-check.ts';

export interface LoadOptions {
  pairs: readonly string[];
  /** Offered commands per second over all agents. */
  rate: number;
  seed: number;
  /** Upper bound on the run; drills stop it earlier. */
  maxDurationMs: number;
}

export interface LoadProgress {
  sent: number;
  acknowledged: number;
  errorsByCode: Record<string, number>;
}

export interface LoadOutcome {
  /** Acknowledged orders with their acknowledged cancels and fills. */
  acked: AckedOrder[];
  commands: number;
  acknowledgedCommands: number;
  errorsByCode: Record<string, number>;
  /** Client-side ack latency (from the intended send time), when the simulator reports it. */
  ackLatencyMs?: { p50: number; p99: number };
  summary: string;
}

export interface LoadHandle {
  progress(): LoadProgress;
  stop(): Promise<LoadOutcome>;
}


/**
 * Starts the simulator's gRPC driver against `target` (API keys created through `adminUrl`) in a child
 * process (load-worker.ts); resolves once its agents are logged in and trading.
 */
export function startSimulatorLoad(target: string, adminUrl: string, options: LoadOptions, runTag: string, adminToken?: string): Promise<LoadHandle> {
  const child = fork(join(import.meta.dirname, 'load-worker.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let progress: LoadProgress = { sent: 0, acknowledged: 0, errorsByCode: {} };
  let stopped: Promise<LoadOutcome> | undefined;
  let onStopped: ((o: LoadOutcome) => void) | undefined;
  let onError: ((e: Error) => void) | undefined;
  return new Promise((ok, fail) => {
    let started = false;
    child.on('message', (m: any) => {
      if (m.type === 'progress') progress = m.progress;
      else if (m.type === 'started') {
        started = true;
        ok(handle);
      } else if (m.type === 'stopped') {
        onStopped?.(m.outcome);
        child.disconnect();
      } else if (m.type === 'error') {
        const e = new Error(`simulator: ${m.message}`);
        if (!started) fail(e);
        else onError?.(e);
      }
    });
    child.on('exit', (code) => {
      const e = new Error(`the simulator process exited (${code}) before it reported`);
      if (!started) fail(e);
      onError?.(e);
    });
    const handle: LoadHandle = {
      progress: () => progress,
      stop: () =>
        (stopped ??= new Promise<LoadOutcome>((resolveStop, rejectStop) => {
          onStopped = resolveStop;
          onError = rejectStop;
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            rejectStop(new Error('the simulator did not stop within 30 s'));
          }, 30_000);
          timer.unref();
          child.send({ type: 'stop' });
        })),
    };
    child.send({ type: 'start', target, adminUrl, options, runTag, ...(adminToken ? { adminToken } : {}) });
  });
}
