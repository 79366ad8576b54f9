/**
 * The real service process (server/main.ts) for a drill: spawned with CHAOS_ENABLED on two free loopback
 * ports chosen up front (so a restart after kill -9 comes back on the same addresses and the simulator's
 * clients reconnect), its output kept for the report, stopped with SIGTERM or killed with SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../server/adapters/free-port.ts';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');

export { freePort };

export interface ServiceProcessOptions {
  /** Environment on top of the drill defaults (DATABASE_URL, DATABASE_SCHEMA, REDIS_URL, ...). */
  env: Record<string, string>;
  /** How long start-up (recovery included) may take. @default 60000 */
  startTimeoutMs?: number;
}

export class ServiceProcess {
  private child: ChildProcess | undefined;
  private readonly output: string[] = [];
  private outputChars = 0;
  grpcPort = 0;
  adminPort = 0;

  constructor(private readonly options: ServiceProcessOptions) {}

  get grpcTarget(): string {
    return `127.0.0.1:${this.grpcPort}`;
  }

  get adminUrl(): string {
    return `http://127.0.0.1:${this.adminPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines the process printed (bounded), for a failing drill's report. */
  tail(lines = 40): string {
    return this.output.join('').split('\n').slice(-lines).join('\n');
  }

  async start(): Promise<void> {
    if (this.grpcPort === 0) {
      this.grpcPort = await freePort();
      this.adminPort = await freePort();
    }
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: process.env['HOME'] ?? '/tmp',
        GRPC_HOST: '127.0.0.1',
        ADMIN_HOST: '127.0.0.1',
        CHAOS_ENABLED: '1',
        PERSISTENCE: 'postgres',
        ...this.options.env,
        GRPC_PORT: String(this.grpcPort),
        ADMIN_PORT: String(this.adminPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (chunk: Buffer): void => {
      const text = chunk.toString();
      this.output.push(text);
      this.outputChars += text.length;
      while (this.outputChars > 200_000 && this.output.length > 1) this.outputChars -= this.output.shift()!.length;
    };
    await new Promise<void>((ok, fail) => {
      const timeout = this.options.startTimeoutMs ?? 60_000;
      let seen = '';
      const timer = setTimeout(() => fail(new Error(`service did not start within ${timeout} ms:\n${this.tail()}`)), timeout);
      const onExit = (code: number | null, signal: string | null): void => {
        clearTimeout(timer);
        fail(new Error(`service exited (${code ?? signal}) before listening:\n${this.tail()}`));
      };
      child.on('exit', onExit);
      child.stderr!.on('data', keep);
      child.stdout!.on('data', (chunk: Buffer) => {
        keep(chunk);
        seen = (seen + chunk.toString()).slice(-4000);
        if (/listening for gRPC on /.test(seen)) {
          clearTimeout(timer);
          child.off('exit', onExit);
          ok();
        }
      });
    });
  }

  /** SIGKILL: no drain, no final snapshot, no goodbye. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM and wait for the graceful stop (SIGKILL after `graceMs`). */
  async stop(graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
