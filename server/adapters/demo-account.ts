/**
 * The demo account a fresh `npm start` prints, so a new user can trade at once: an API key for the
 * account `demo`, created on first start. With the in-process session store nothing survives a restart,
 * so a new key is created (and printed) on every start; with Redis a marker records the key id and later
 * starts only say which key it was (its secret was printed once and is not stored). Creating the key
 * before claiming the marker, and revoking ours if another replica claimed first, keeps it to one key.
 */
import type { OpenedSessionStore } from './redis/open-session-store.ts';

export const DEMO_ACCOUNT = 'demo';
const DEMO_MARKER = 'demo-api-key';

export type DemoApiKey =
  | { created: true; account: string; keyId: string; secret: string; persistent: boolean }
  | { created: false; account: string; keyId: string };

export async function ensureDemoApiKey(sessions: OpenedSessionStore, account: string = DEMO_ACCOUNT): Promise<DemoApiKey> {
  const key = await sessions.store.createApiKey(account);
  const onRecord = await sessions.claimMarker(`${DEMO_MARKER}:${account}`, key.keyId);
  if (onRecord !== key.keyId) {
    await sessions.store.revokeApiKey(key.keyId);
    return { created: false, account, keyId: onRecord };
  }
  return { created: true, account, keyId: key.keyId, secret: key.secret, persistent: sessions.backend === 'redis' };
}

/** The lines to print at start-up: how to log in with the key and send an order (grpcurl). */
export function describeDemoApiKey(demo: DemoApiKey, grpcAddress: string, adminBase: string): string {
  if (!demo.created) {
    return (
      `demo account "${demo.account}": API key ${demo.keyId} was created on an earlier start (its secret was printed then; ` +
      `it is stored only hashed). Create another with: curl -X POST ${adminBase}/admin/accounts/${demo.account}/api-keys`
    );
  }
  const login = JSON.stringify({ api_key_id: demo.keyId, api_key_secret: demo.secret });
  return [
    `demo account "${demo.account}" — API key id ${demo.keyId}, secret ${demo.secret}`,
    demo.persistent
      ? '  (created once and kept in Redis; the secret is shown only now)'
      : '  (in-process session store: keys and sessions live only as long as this process, so a new demo key is printed on every start; set REDIS_URL to keep them)',
    '  log in and trade:',
    `    grpcurl -plaintext -d '${login}' ${grpcAddress} trading.v1.SessionService/Login`,
    `    grpcurl -plaintext -H "authorization: Bearer <token>" -d '{"pair":"BTCUSDT","side":"SIDE_BUY","type":"ORDER_TYPE_LIMIT","price":"100.00","quantity":"0.01"}' ${grpcAddress} trading.v1.OrdersService/SubmitOrder`,
  ].join('\n');
}
