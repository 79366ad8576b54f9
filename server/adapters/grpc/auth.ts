/**
 * Who is calling. The one seam between call metadata and an account name. The service's default is
 * session-authenticator.ts (bearer tokens from SessionService.Login); `headerAuthenticator` below trusts
 * the `x-account-id` header as is and is used only with AUTH_MODE=header (loopback tools, benchmarks)
 * and by in-process servers built without a session store.
 */
import type { Metadata } from '@grpc/grpc-js';
import { UnauthenticatedError } from './errors.ts';

export interface Authenticator {
  /** The account the call acts for; throws UnauthenticatedError when there is none. */
  authenticate(metadata: Metadata): string;
}

export const ACCOUNT_HEADER = 'x-account-id';
const ACCOUNT = /^[\x21-\x7e]{1,128}$/;

/** Takes the account from the `x-account-id` metadata key (1-128 printable ASCII characters, no spaces). */
export const headerAuthenticator: Authenticator = {
  authenticate(metadata: Metadata): string {
    const values = metadata.get(ACCOUNT_HEADER);
    const value = values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
    if (value === undefined || value === '') throw new UnauthenticatedError(`metadata ${ACCOUNT_HEADER} is required`);
    if (!ACCOUNT.test(value)) throw new UnauthenticatedError(`metadata ${ACCOUNT_HEADER} must be 1-128 printable ASCII characters without spaces`);
    return value;
  },
};
