/**
 * Last line of defence against secrets in log text: whatever a message or an error says, these shapes
 * never reach the output. Redaction by field name (service-logger.ts) covers structured fields; this
 * covers free text (an error message quoting a header, a URL with a password).
 *   - `Bearer <anything>` (not a `<placeholder>`) → `Bearer [redacted]`
 *   - `scheme://user:password@`                 → `scheme://user:[redacted]@`
 *   - 43-character base64url words (32 random bytes: API key secrets and session tokens) → `[redacted]`
 */
const BEARER = /\b(Bearer)\s+(?!<[a-z ]+>)[^\s"',;]+/gi;
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi;
const RANDOM_32_BYTES = /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;

export function scrubText(text: string): string {
  return text.replace(BEARER, '$1 [redacted]').replace(URL_PASSWORD, '$1:[redacted]@').replace(RANDOM_32_BYTES, '[redacted]');
}

/** Field names whose values are never logged (any depth, case as written here and lower-case). */
export const SECRET_FIELD_NAMES = ['secret', 'token', 'password', 'authorization', 'apiKeySecret', 'api_key_secret', 'adminToken', 'admin_token', 'cookie'] as const;
