/**
 * The chaos endpoints beyond the adaptive-book fault (`/admin/chaos/fault`, in admin-routes.ts): memory
 * pressure, an event-loop stall and served-path refusals. Registered only when CHAOS_ENABLED (otherwise
 * these paths answer 404 like any unknown path). Every input is checked whole before anything changes and
 * a bad field is a 400 naming it.
 */
import { ValidationError } from '../../pairs/errors.ts';
import { HttpError, type Route } from '../http/admin-server.ts';
import type { Logger } from '../grpc/call-context.ts';
import type { CommandRefusals } from './command-refusals.ts';
import { EventLoopStall, MAX_BURST_MS, MAX_BURSTS, MAX_GAP_MS, StallAlreadyRunningError } from './event-loop-stall.ts';
import type { MemoryBallast } from './memory-ballast.ts';

/** The chaos seams of one service (built by TradingService when CHAOS_ENABLED). */
export interface ChaosSeams {
  ballast: MemoryBallast;
  stall: EventLoopStall;
  refusals: CommandRefusals;
  pairs: readonly string[];
  /** Resident memory now, MiB (what the memory alert judges). */
  rssMiB(): number;
  logger: Logger;
}

function only(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) if (!allowed.includes(key)) throw new ValidationError(key, `is not a field of this request (allowed: ${allowed.join(', ')})`);
}

function wholeNumber(body: Record<string, unknown>, field: string, min: number, max: number, fallback?: number): number {
  const v = body[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
    throw new ValidationError(field, `must be a whole number in ${min}-${max}, got ${JSON.stringify(body[field])?.slice(0, 40) ?? 'nothing'}`);
  return v;
}

export function chaosRoutes(seams: ChaosSeams): Route[] {
  const json = (value: unknown, status = 200) => ({ status, json: value });
  const memory = () => ({ ...seams.ballast.status(), rss_mib: seams.rssMiB() });
  return [
    { method: 'GET', path: '/admin/chaos/memory', handle: () => json(memory()) },
    {
      method: 'POST',
      path: '/admin/chaos/memory',
      handle: async ({ body }) => {
        only(body, ['mib']);
        const mib = wholeNumber(body, 'mib', 0, seams.ballast.maxMiB);
        seams.logger.info(`chaos: memory ballast → ${mib} MiB (held ${seams.ballast.heldMiB} MiB)`);
        await seams.ballast.set(mib);
        return json(memory());
      },
    },
    { method: 'GET', path: '/admin/chaos/stall', handle: () => json(seams.stall.status()) },
    {
      method: 'POST',
      path: '/admin/chaos/stall',
      handle: ({ body }) => {
        only(body, ['ms', 'bursts', 'gapMs', 'stop']);
        if (body['stop'] !== undefined) {
          if (body['stop'] !== true) throw new ValidationError('stop', 'must be true when given');
          if (Object.keys(body).length > 1) throw new ValidationError('stop', 'comes alone');
          return json(seams.stall.stop());
        }
        const ms = wholeNumber(body, 'ms', 1, MAX_BURST_MS);
        const bursts = wholeNumber(body, 'bursts', 1, MAX_BURSTS, 1);
        const gapMs = wholeNumber(body, 'gapMs', 0, MAX_GAP_MS, 0);
        try {
          const s = seams.stall.start({ ms, bursts, gapMs });
          seams.logger.info(`chaos: event-loop stall: ${bursts} bursts of ${ms} ms, ${gapMs} ms apart`);
          return json(s, 202);
        } catch (e) {
          if (e instanceof StallAlreadyRunningError) throw new HttpError(409, 'busy', e.message);
          throw e;
        }
      },
    },
    { method: 'GET', path: '/admin/chaos/refusals', handle: () => json(seams.refusals.status()) },
    {
      method: 'POST',
      path: '/admin/chaos/refusals',
      handle: ({ body }) => {
        only(body, ['pair', 'everyNth']);
        const pair = body['pair'];
        if (typeof pair !== 'string' || (pair !== 'all' && !seams.pairs.includes(pair)))
          throw new ValidationError('pair', `must be one of ${seams.pairs.join(', ')} or "all", got ${JSON.stringify(pair)?.slice(0, 40) ?? 'nothing'}`);
        const everyNth = wholeNumber(body, 'everyNth', 0, 1_000_000);
        for (const p of pair === 'all' ? seams.pairs : [pair]) seams.refusals.set(p, everyNth);
        seams.logger.info(`chaos: refusals on ${pair}: ${everyNth === 0 ? 'off' : `every ${everyNth}th command`}`);
        return json(seams.refusals.status());
      },
    },
  ];
}

export { EventLoopStall };
