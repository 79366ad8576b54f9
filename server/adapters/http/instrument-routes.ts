/**
 * The instruments endpoints of the admin API (docs/operations.md "Instruments"): list, halt, resume,
 * change and delist pairs at runtime. Same rules as every state-changing admin endpoint (token, no
 * cross-origin browser requests: admin-server.ts). Each handler validates its whole input, then calls
 * one InstrumentCatalog operation; errors map to 400 (field named), 404 (not listed), 409 (the pair's
 * state refuses it: open orders, already listed, the MAX_INSTRUMENTS cap), 503 (the table unreachable).
 */
import { UnavailableError } from '../../ports/errors.ts';
import { InstrumentConflictError, UnknownInstrumentError, type InstrumentCatalog } from '../instruments/instrument-catalog.ts';
import { ADMIN_ACTOR, only, reasonOf } from './admin-routes.ts';
import { HttpError, type AdminResponse, type Route } from './admin-server.ts';

/** The catalog's refusals as HTTP statuses. */
async function mapped(run: () => Promise<AdminResponse>): Promise<AdminResponse> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof InstrumentConflictError) throw new HttpError(409, 'conflict', err.reason, err.field);
    if (err instanceof UnknownInstrumentError) throw new HttpError(404, 'not_found', err.message, 'pair');
    if (err instanceof UnavailableError) throw new HttpError(503, 'unavailable', err.message);
    throw err;
  }
}

export function instrumentRoutes(catalog: InstrumentCatalog): Route[] {
  const json = (value: unknown, status = 200): AdminResponse => ({ status, json: value });
  return [
    { method: 'GET', path: '/admin/instruments', handle: () => json({ instruments: catalog.list() }) },
    {
      method: 'POST',
      path: '/admin/instruments',
      handle: ({ body }) => mapped(async () => json({ action: 'list', instrument: await catalog.listPair(body) }, 201)),
    },
    {
      method: 'POST',
      path: '/admin/instruments/',
      suffix: '/halt',
      handle: ({ param, body }) =>
        mapped(async () => {
          only(body, ['reason']);
          const { changed, view } = await catalog.halt(param, ADMIN_ACTOR, reasonOf(body, 'halted by operator'));
          return json({ action: 'halt', changed, instrument: view });
        }),
    },
    {
      method: 'POST',
      path: '/admin/instruments/',
      suffix: '/resume',
      handle: ({ param, body }) =>
        mapped(async () => {
          only(body, ['reason']);
          reasonOf(body, 'resumed by operator');
          const { changed, view } = await catalog.resume(param);
          return json({ action: 'resume', changed, instrument: view });
        }),
    },
    {
      method: 'PATCH',
      path: '/admin/instruments/',
      handle: ({ param, body }) => mapped(async () => json({ action: 'change', instrument: await catalog.patch(param, body) })),
    },
    {
      method: 'DELETE',
      path: '/admin/instruments/',
      handle: ({ param }) => mapped(async () => json({ action: 'delist', instrument: await catalog.delist(param) })),
    },
  ];
}
