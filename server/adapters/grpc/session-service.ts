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

export interface SessionServiceOptions {
  store: SessionStore;
  /** Ends the session of the call's bearer token (SessionAuthenticator.logout). */
  logout(metadata: Metadata): Promise<void>;
  /** How long a session lasts (SESSION_TTL_MS). */
  sessionTtlMs: number;
}

/** Longest api_key_id / api_key_secret accepted before asking the store (they are far shorter). */
const MAX_CREDENTIAL_LENGTH = 256;

function requireCredential(field: string, value: string): void {
  if (value === '') throw new ValidationError(field, 'is required');
  if (value.length > MAX_CREDENTIAL_LENGTH) throw new ValidationError(field, `must be at most ${MAX_CREDENTIAL_LENGTH} characters`);
}

export function createSessionService(ctx: CallContext, options: SessionServiceOptions): SessionServiceServer {
  return {
    login: unaryAsync(ctx, 'Login', async (req: LoginRequest): Promise<LoginResponse> => {
      requireCredential('api_key_id', req.apiKeyId);
      requireCredential('api_key_secret', req.apiKeySecret);
      // InvalidCredentialsError → UNAUTHENTICATED and UnavailableError('redis') → UNAVAILABLE (errors.ts).
      const session = await options.store.login(req.apiKeyId, req.apiKeySecret, options.sessionTtlMs);
      return { token: session.token, account: session.account, expiresAtUnixMs: String(session.expiresAtMs) };
    }),

    logout: unaryAsync(ctx, 'Logout', async (_req, call): Promise<LogoutResponse> => {
      await options.logout(call.metadata);
      return {};
    }),
  };
}
