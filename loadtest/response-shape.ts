/**
 * How many response messages the service writes for one mode of `npm run bench:grpc`, counted by the
 * load client in the service's answers, so the no-op server (loadtest/noop-grpc-server.ts) writes as
 * many of the same shape: without it the no-op wrote one event per order where the service wrote fills,
 * cancels and pushed events too (issue 9: 1,392 stream messages against 200).
 */
import type { TallyCounts } from './grpc-load-client.ts';

export type EventKind = 'accepted' | 'filled' | 'cancelled';
const KINDS: readonly EventKind[] = ['accepted', 'filled', 'cancelled'];

export interface ResponseShape {
  /** Events carried with the answer of each command that is not a NOT_FOUND cancel, by type (fractions are spread evenly). */
  eventsPerCommand: Record<EventKind, number>;
  /** Share of cancels answered NOT_FOUND (the order had already closed). */
  cancelNotFoundShare: number;
  /** OrderFlow: messages of events pushed for orders filled by others, per request message. */
  pushedMessagesPerRequest: number;
  /** OrderFlow: events in each such message, by type. */
  eventsPerPushedMessage: Record<EventKind, number>;
}

/** The no-op's shape when none is given: one accepted event per command. */
export const ONE_ACCEPTED: ResponseShape = {
  eventsPerCommand: { accepted: 1, filled: 0, cancelled: 0 },
  cancelNotFoundShare: 0,
  pushedMessagesPerRequest: 0,
  eventsPerPushedMessage: { accepted: 0, filled: 1, cancelled: 0 },
};

const ratio = (a: number, b: number): number => (b > 0 ? a / b : 0);

/** The shape of what a client counted (`requests`: result-carrying messages or calls it was answered). */
export function shapeOf(t: TallyCounts): ResponseShape {
  const commands = t.answered.submit + t.answered.cancel;
  const requests = t.responseMessages - t.pushedMessages;
  const per = (f: (k: EventKind) => number, n: number): Record<EventKind, number> =>
    Object.fromEntries(KINDS.map((k) => [k, ratio(f(k), n)])) as Record<EventKind, number>;
  return {
    eventsPerCommand: per((k) => (t.events[k] ?? 0) - (t.pushedEvents[k] ?? 0), commands - t.cancelNotFound),
    cancelNotFoundShare: ratio(t.cancelNotFound, t.answered.cancel),
    pushedMessagesPerRequest: ratio(t.pushedMessages, requests),
    eventsPerPushedMessage: t.pushedMessages > 0 ? per((k) => t.pushedEvents[k] ?? 0, t.pushedMessages) : ONE_ACCEPTED.eventsPerPushedMessage,
  };
}

/** NOOP_RESPONSE_SHAPE: the JSON of a ResponseShape; unset: ONE_ACCEPTED. */
export function parseShape(raw: string | undefined): ResponseShape {
  if (raw === undefined || raw === '') return ONE_ACCEPTED;
  const v = JSON.parse(raw) as ResponseShape;
  const finite = (x: unknown, what: string): number => {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0 || x > 1000) throw new Error(`NOOP_RESPONSE_SHAPE ${what} must be a number from 0 to 1000, got ${JSON.stringify(x)}`);
    return x;
  };
  const kinds = (r: Record<EventKind, number> | undefined, what: string): Record<EventKind, number> =>
    Object.fromEntries(KINDS.map((k) => [k, finite(r?.[k] ?? 0, `${what}.${k}`)])) as Record<EventKind, number>;
  return {
    eventsPerCommand: kinds(v.eventsPerCommand, 'eventsPerCommand'),
    cancelNotFoundShare: Math.min(1, finite(v.cancelNotFoundShare, 'cancelNotFoundShare')),
    pushedMessagesPerRequest: finite(v.pushedMessagesPerRequest, 'pushedMessagesPerRequest'),
    eventsPerPushedMessage: kinds(v.eventsPerPushedMessage, 'eventsPerPushedMessage'),
  };
}
