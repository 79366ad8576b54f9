/**
 * How an error message quotes a value the client sent: JSON-quoted, at most ECHO_MAX characters of it,
 * with the full length when cut. A 1 MB price must not come back as a 6 MB trailer (nor a pair name
 * as metadata larger than the client accepts), so every echo in gRPC and HTTP errors goes through here.
 */
export const ECHO_MAX = 64;

/** Longest `details` of any gRPC status or HTTP error reason this service sends. */
export const MAX_ERROR_MESSAGE = 1024;

export function echo(value: string, max = ECHO_MAX): string {
  if (value.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, max))}… (${value.length} characters)`;
}

/** Cuts a whole message to MAX_ERROR_MESSAGE characters (a last guard behind `echo`). */
export function boundedMessage(message: string): string {
  return message.length <= MAX_ERROR_MESSAGE ? message : `${message.slice(0, MAX_ERROR_MESSAGE)}… (cut)`;
}
