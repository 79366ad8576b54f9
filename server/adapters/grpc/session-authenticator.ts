/**
 * Who is calling, from a session token: metadata `authorization: Bearer <token>` → account through the
 * SessionStore (tokens come from SessionService.Login). Implements the synchronous `Authenticator` seam
 * of auth.ts although a store answers asynchronously (Redis): a grpc-js server interceptor resolves the
 * token when the call's metadata arrives — grpc-js holds the call's messages until `next` is called —
 * and records the verdict against that call's Metadata object; `authenticate(metadata)` then only reads
 * it. The token is removed from the metadata once checked, so no handler or log downstream can see it.
 * Must not decide which methods need an account: handlers still call `authenticate` as before.
 */
import { Metadata, ServerInterceptingCall, type ServerInterceptor } from '@grpc/grpc-js';
import { UnavailableError } from '../../ports/errors.ts';
import { inProcessSessions, type InProcessSessions, type SessionStore } from '../../ports/session-store.ts';
import type { Authenticator } from './auth.ts';
import { UnauthenticatedError } from './errors.ts';

export const AUTHORIZATION_HEADER = 'authorization';
const BEARER = /^Bearer +([A-Za-z0-9_-]{1,512})$/i;

export const MISSING_TOKEN = `metadata ${AUTHORIZATION_HEADER} is required: "Bearer <token>" with a token from SessionService.Login`;
export const MALFORMED_TOKEN = `metadata ${AUTHORIZATION_HEADER} must be exactly one "Bearer <token>" value`;
export const UNKNOWN_TOKEN = 'session token is unknown, expired or logged out; log in again with SessionService.Login';

export class SessionAuthenticator implements Authenticator {
  /** Verdicts by call, recorded by the interceptor; weak, so they go with the call. */
  private readonly verdicts = new WeakMap<Metadata, string | Error>();
  /**
   * The well-formed token of each checked call, kept only for `logout` (SessionService.Logout needs the
   * token itself, and the header is gone by the time a handler runs). Weak, like the verdicts.
   */
  private readonly tokens = new WeakMap<Metadata, string>();

  /** The store's synchronous answers when it lives in this process: a verdict then costs no promise. */
  private readonly now: InProcessSessions | undefined;

  constructor(private readonly store: SessionStore) {
    this.now = inProcessSessions(store);
  }

  /**
   * The account of the call, as checked by `interceptor()` when the call began. Throws
   * UnauthenticatedError for a missing, malformed, unknown or expired token, UnavailableError when the
   * session store could not be asked (the token may be fine), and a plain Error (INTERNAL) when a token
   * is present but was never checked: the interceptor is not installed on the server, a wiring bug.
   */
  authenticate(metadata: Metadata): string {
    const verdict = this.verdicts.get(metadata);
    if (typeof verdict === 'string') return verdict;
    if (verdict !== undefined) throw verdict;
    if (metadata.get(AUTHORIZATION_HEADER).length === 0) throw new UnauthenticatedError(MISSING_TOKEN);
    throw new Error('SessionAuthenticator: the call has a token nobody checked; install sessionAuthenticator.interceptor() on the grpc Server');
  }

  /**
   * Ends the session of the call's token (SessionService.Logout), whatever its verdict: logging out an
   * unknown or expired token is a no-op in the store, and while Redis is down the resilient store applies
   * it locally and replays it later. Throws UnauthenticatedError when the call carried no well-formed
   * "Bearer <token>" value.
   */
  async logout(metadata: Metadata): Promise<void> {
    const token = this.tokens.get(metadata);
    if (token !== undefined) {
      await this.store.logout(token);
      return;
    }
    const verdict = this.verdicts.get(metadata);
    if (verdict instanceof Error) throw verdict instanceof UnauthenticatedError ? verdict : new UnauthenticatedError(MALFORMED_TOKEN);
    await this.store.logout(tokenOf(metadata));
  }

  /** The check itself; the interceptor uses it and so can any async code path. Same errors as authenticate. */
  async authenticateAsync(metadata: Metadata): Promise<string> {
    return this.resolveToken(tokenOf(metadata));
  }

  /**
   * Checks again that the session a call began with is still live (a long stream outlives logouts and
   * expiry): the account, or UnauthenticatedError / UnavailableError as at the start. Calls that carried
   * no token (AUTH_MODE=header) have nothing to re-check and resolve to undefined.
   */
  async revalidate(metadata: Metadata): Promise<string | undefined> {
    const token = this.tokens.get(metadata);
    return token === undefined ? undefined : this.resolveToken(token);
  }

  private async resolveToken(token: string): Promise<string> {
    let account: string | undefined;
    try {
      account = await this.store.resolve(token);
    } catch (err) {
      throw storeFailure(err);
    }
    return accountOrUnknown(account);
  }

  /** The verdict on the call's token from the in-process store, at once: the account or the error. */
  private verdictNow(token: string, now: InProcessSessions): string | Error {
    try {
      return accountOrUnknown(now.resolveNow(token));
    } catch (err) {
      return asError(storeFailure(err)); // storeFailure passes an UnauthenticatedError through unchanged
    }
  }

  /**
   * What the interceptor does with a call's metadata, as a hook another interceptor layer can run (the
   * service runs it inside the metrics interceptor: every grpc-js interceptor layer costs each call, about
   * a tenth of a unary call's server CPU measured). Calls without an authorization header pass untouched
   * (health, reflection, Login); for the others the verdict is recorded before the handler starts, and the
   * header is removed.
   */
  readonly onReceiveMetadata = (metadata: Metadata, nextMetadata: (metadata: Metadata) => void): void => {
    const values = metadata.get(AUTHORIZATION_HEADER);
    if (values.length === 0) {
      nextMetadata(metadata);
      return;
    }
    const record = (verdict: string | Error): void => {
      this.verdicts.set(metadata, verdict);
      metadata.remove(AUTHORIZATION_HEADER);
      nextMetadata(metadata);
    };
    let token: string;
    try {
      token = tokenOf(metadata);
    } catch (err) {
      record(asError(err));
      return;
    }
    this.tokens.set(metadata, token);
    if (this.now !== undefined) record(this.verdictNow(token, this.now));
    else this.resolveToken(token).then(record, (err: unknown) => record(asError(err)));
  };

  /** The hook above as a grpc-js server interceptor of its own (`new Server({ interceptors: [auth.interceptor()] })`). */
  interceptor(): ServerInterceptor {
    const onReceiveMetadata = this.onReceiveMetadata;
    return (_method, call) => new ServerInterceptingCall(call, { start: (next) => next({ onReceiveMetadata }) });
  }
}

/** The token of the call's single well-formed "Bearer <token>" value; UnauthenticatedError otherwise. */
function tokenOf(metadata: Metadata): string {
  const values = metadata.get(AUTHORIZATION_HEADER);
  if (values.length === 0) throw new UnauthenticatedError(MISSING_TOKEN);
  const match = values.length === 1 && typeof values[0] === 'string' ? BEARER.exec(values[0]) : null;
  if (match === null) throw new UnauthenticatedError(MALFORMED_TOKEN);
  return match[1]!;
}

/** The store could not be asked: say what could not be done, keeping its dependency and detail. */
function storeFailure(err: unknown): unknown {
  return err instanceof UnavailableError ? new UnavailableError(err.dependency, `cannot check the session token: ${err.detail}`, { cause: err }) : err;
}

function accountOrUnknown(account: string | undefined): string {
  if (account === undefined) throw new UnauthenticatedError(UNKNOWN_TOKEN);
  return account;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
