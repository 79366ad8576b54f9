/**
 * SessionAuthenticator with the in-process store: the bearer-token check on its own, then through a
 * real grpc-js server on 127.0.0.1:0 with the interceptor installed (a one-method raw-bytes service,
 * so the test needs no generated code).
 */
import { Metadata, Server, ServerCredentials, credentials, makeGenericClientConstructor, status, type Client, type sendUnaryData, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../embedded/memory-session-store.ts';
import { ManualClock } from '../../ports/clock.ts';
import { UnavailableError } from '../../ports/errors.ts';
import type { SessionStore } from '../../ports/session-store.ts';
import { describeError, toStatus, UnauthenticatedError } from './errors.ts';
import { MALFORMED_TOKEN, MISSING_TOKEN, SessionAuthenticator, UNKNOWN_TOKEN } from './session-authenticator.ts';

const clock = new ManualClock();
const store = new MemorySessionStore({ clock });
const auth = new SessionAuthenticator(store);

function withAuthorization(...values: string[]): Metadata {
  const m = new Metadata();
  for (const v of values) m.add('authorization', v);
  return m;
}

async function loginAs(account: string, ttlMs = 60_000): Promise<string> {
  const key = await store.createApiKey(account);
  return (await store.login(key.keyId, key.secret, ttlMs)).token;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
}

describe('SessionAuthenticator.authenticateAsync (bearer token → account)', () => {
  it('accepts "Bearer <token>" of a live session, scheme case-insensitive', async () => {
    const token = await loginAs('alice');
    expect(await auth.authenticateAsync(withAuthorization(`Bearer ${token}`))).toBe('alice');
    expect(await auth.authenticateAsync(withAuthorization(`bearer ${token}`))).toBe('alice');
  });

  it('UNAUTHENTICATED with a message saying what to send when the header is missing or malformed', async () => {
    const token = await loginAs('alice');
    const missing = await rejection(auth.authenticateAsync(new Metadata()));
    expect(missing).toBeInstanceOf(UnauthenticatedError);
    expect(missing.message).toBe(MISSING_TOKEN);
    for (const bad of [[`Basic ${token}`], [token], ['Bearer '], [`Bearer ${token} extra`], [`Bearer ${token}`, `Bearer ${token}`]]) {
      const err = await rejection(auth.authenticateAsync(withAuthorization(...bad)));
      expect(err).toBeInstanceOf(UnauthenticatedError);
      expect(err.message).toBe(MALFORMED_TOKEN);
    }
  });

  it('UNAUTHENTICATED for unknown, expired and logged-out tokens', async () => {
    const expiring = await loginAs('alice', 1000);
    const loggedOut = await loginAs('alice');
    await store.logout(loggedOut);
    clock.advanceMs(1000);
    for (const token of ['A'.repeat(43), 'short', expiring, loggedOut]) {
      const err = await rejection(auth.authenticateAsync(withAuthorization(`Bearer ${token}`)));
      expect(err).toBeInstanceOf(UnauthenticatedError);
      expect(err.message).toBe(UNKNOWN_TOKEN);
      expect(describeError(err).code).toBe(status.UNAUTHENTICATED);
    }
  });

  it('UNAVAILABLE (not UNAUTHENTICATED) when the session store cannot be asked', async () => {
    const down = { resolve: async () => Promise.reject(new UnavailableError('redis', 'connection refused')) } as unknown as SessionStore;
    const err = await rejection(new SessionAuthenticator(down).authenticateAsync(withAuthorization(`Bearer ${'A'.repeat(43)}`)));
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).dependency).toBe('redis');
    expect(describeError(err)).toMatchObject({ code: status.UNAVAILABLE, message: 'redis unavailable: cannot check the session token: connection refused' });
  });

  it('the synchronous authenticate answers "missing" itself, and refuses a token nobody checked as a wiring bug', async () => {
    expect(() => auth.authenticate(new Metadata())).toThrow(UnauthenticatedError);
    const unchecked = (() => {
      try {
        auth.authenticate(withAuthorization(`Bearer ${'A'.repeat(43)}`));
      } catch (e) {
        return e;
      }
    })();
    expect(unchecked).toBeInstanceOf(Error);
    expect(describeError(unchecked).code).toBe(status.INTERNAL);
  });
});

describe('SessionAuthenticator.onReceiveMetadata: the verdict recorded before the call goes on', () => {
  /** Runs the hook; `now` is whether it let the call go on before returning. */
  async function verdictOf(a: SessionAuthenticator, metadata: Metadata): Promise<{ now: boolean; account: string | Error }> {
    let passed = false;
    const done = new Promise<void>((resolve) =>
      a.onReceiveMetadata(metadata, () => {
        passed = true;
        resolve();
      }),
    );
    const now = passed;
    await done;
    let account: string | Error;
    try {
      account = a.authenticate(metadata);
    } catch (e) {
      account = e as Error;
    }
    expect(metadata.get('authorization')).toEqual([]); // no handler downstream sees the token
    return { now, account };
  }

  it('with the in-process store, decided before the hook returns (no promise per call), same verdicts', async () => {
    const token = await loginAs('carol');
    const loggedOut = await loginAs('carol');
    await store.logout(loggedOut);
    expect(await verdictOf(auth, withAuthorization(`Bearer ${token}`))).toEqual({ now: true, account: 'carol' });
    for (const [values, message] of [
      [[`Bearer ${loggedOut}`], UNKNOWN_TOKEN],
      [['Bearer '], MALFORMED_TOKEN],
      [[`Bearer ${token}`, `Bearer ${token}`], MALFORMED_TOKEN],
    ] as const) {
      const v = await verdictOf(auth, withAuthorization(...values));
      expect(v.now).toBe(true);
      expect(v.account).toBeInstanceOf(UnauthenticatedError);
      expect((v.account as Error).message).toBe(message);
    }
    const failing = new SessionAuthenticator(
      Object.assign(Object.create(store) as MemorySessionStore, {
        resolveNow: () => {
          throw new UnavailableError('memory', 'store closed');
        },
      }),
    );
    const down = await verdictOf(failing, withAuthorization(`Bearer ${token}`));
    expect(down.now).toBe(true);
    expect(describeError(down.account)).toMatchObject({ code: status.UNAVAILABLE, message: 'memory unavailable: cannot check the session token: store closed' });
  });

  it('with a store that answers asynchronously (Redis), decided once it answers, same verdicts', async () => {
    const token = await loginAs('carol');
    const asyncOnly = { resolve: (t: string) => store.resolve(t) } as unknown as SessionStore;
    const a = new SessionAuthenticator(asyncOnly);
    expect(await verdictOf(a, withAuthorization(`Bearer ${token}`))).toEqual({ now: false, account: 'carol' });
    const unknown = await verdictOf(a, withAuthorization(`Bearer ${'B'.repeat(43)}`));
    expect(unknown.now).toBe(false);
    expect((unknown.account as Error).message).toBe(UNKNOWN_TOKEN);
  });
});

describe('SessionAuthenticator.interceptor on a real grpc-js server', () => {
  const raw = (b: Buffer): Buffer => b;
  const service = {
    whoAmI: { path: '/test.Who/WhoAmI', requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw },
  };
  const server = new Server({ interceptors: [auth.interceptor()] });
  let client: Client & { whoAmI: (req: Buffer, md: Metadata, cb: (err: ServiceError | null, res?: Buffer) => void) => void };
  let seenHeaders: string[] = [];

  beforeAll(async () => {
    server.addService(service, {
      whoAmI: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        seenHeaders = Object.keys(call.metadata.getMap());
        try {
          callback(null, Buffer.from(auth.authenticate(call.metadata)));
        } catch (err) {
          callback(toStatus(err));
        }
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const Ctor = makeGenericClientConstructor(service, 'Who');
    client = new Ctor(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as typeof client;
  });

  afterAll(async () => {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  const call = (md: Metadata): Promise<string> =>
    new Promise((resolve, reject) => client.whoAmI(Buffer.alloc(0), md, (err, res) => (err ? reject(err) : resolve(res!.toString()))));

  it('serves the account of a valid token, and the handler never sees the token', async () => {
    const token = await loginAs('bob');
    expect(await call(withAuthorization(`Bearer ${token}`))).toBe('bob');
    expect(seenHeaders).not.toContain('authorization');
  });

  it('answers UNAUTHENTICATED with a clear message for a missing or bad token', async () => {
    const missing = (await rejection(call(new Metadata()))) as ServiceError;
    expect(missing.code).toBe(status.UNAUTHENTICATED);
    expect(missing.details).toBe(MISSING_TOKEN);
    const bad = (await rejection(call(withAuthorization(`Bearer ${'B'.repeat(43)}`)))) as ServiceError;
    expect(bad.code).toBe(status.UNAUTHENTICATED);
    expect(bad.details).toBe(UNKNOWN_TOKEN);
  });

  it('stops accepting a token as soon as it is logged out', async () => {
    const token = await loginAs('carol');
    expect(await call(withAuthorization(`Bearer ${token}`))).toBe('carol');
    await store.logout(token);
    expect(((await rejection(call(withAuthorization(`Bearer ${token}`)))) as ServiceError).code).toBe(status.UNAUTHENTICATED);
  });
});
