/**
 * trading.v1.SessionService: API key → session token (Login) and the end of a session (Logout), over the
 * SessionStore. Never logs or echoes secrets or tokens. Authentication of the other services is the
 * SessionAuthenticator's job; this service only issues and ends sessions.
 */
import type { Metadata } from '@grpc/grpc-js';
import { ValidationError } from '../../pairs/errors.ts';
import type { SessionStore } from '../../ports/session-store.ts';
import { unaryAsync, type CallContext } from './call-context.ts';
import type { LoginRequest, LoginResponse, LogoutResponse, SessionServiceServer } from './generated/trading/v1/sessions.ts';
import { InvalidCredentialsError } from '../../ports/session-store.ts';
import { LoginThrottle } from './login-throttle.ts';
import { peerAddress } from './stream-limits.ts';

export interface SessionServiceOptions {
  store: SessionStore;
  /** Ends the session of the call's bearer token (SessionAuthenticator.logout). */
  logout(metadata: Metadata): Promise<void>;
  /** How long a session lasts (SESSION_TTL_MS). */
  sessionTtlMs: number;
  /** Failed-login backoff per key id and per peer. @default a LoginThrottle with its defaults */
  throttle?: LoginThrottle;
}

/** Longest api_key_id / api_key_secret accepted before asking the store (they are far shorter). */
const MAX_CREDENTIAL_LENGTH = 256;

function requireCredential(field: string, value: string): void {
  if (value === '') throw new ValidationError(field, 'is required');
  if (value.length > MAX_CREDENTIAL_LENGTH) throw new ValidationError(field, `must be at most ${MAX_CREDENTIAL_LENGTH} characters`);
}

export function createSessionService(ctx: CallContext, options: SessionServiceOptions): SessionServiceServer {
  const throttle = options.throttle ?? new LoginThrottle();
  return {
    login: unaryAsync(ctx, 'Login', async (req: LoginRequest, call): Promise<LoginResponse> => {
      requireCredential('api_key_id', req.apiKeyId);
      requireCredential('api_key_secret', req.apiKeySecret);
      const peer = peerAddress(call.getPeer());
      // Backoff first: a key id or peer that failed too often is refused without asking the store.
      throttle.check(req.apiKeyId, peer, ctx.nowMs());
      // InvalidCredentialsError → UNAUTHENTICATED and UnavailableError('redis') → UNAVAILABLE (errors.ts).
      let session;
      try {
        session = await options.store.login(req.apiKeyId, req.apiKeySecret, options.sessionTtlMs);
      } catch (err) {
        if (err instanceof InvalidCredentialsError) throttle.failed(req.apiKeyId, peer, ctx.nowMs());
        throw err;
      }
      throttle.succeeded(req.apiKeyId);
      return { token: session.token, account: session.account, expiresAtUnixMs: String(session.expiresAtMs) };
    }),

    logout: unaryAsync(ctx, 'Logout', async (_req, call): Promise<LogoutResponse> => {
      await options.logout(call.metadata);
      return {};
    }),
  };
}
