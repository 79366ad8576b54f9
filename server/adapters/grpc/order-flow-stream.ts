/**
 * The OrderFlow stream of one account: its state machine. Reads flow messages in order (at most
 * MAX_READ_AHEAD ahead, pausing the reader when the writer is blocked or too many replies wait for
 * durability), applies each message's commands synchronously through the OrdersService command paths
 * (`OrderFlowCommands`, the same as unary and batch), and writes the reply — after durability with a
 * journal, pipelined, in order, with the account's order events ahead of the result that caused them.
 * A refused message (rate limit, store down) is answered per command; anything else ends the stream.
 * Ends on the client's half-close once everything it sent is answered, on shutdown, on a slow consumer.
 */
import type { Pending } from './maybe-pending.ts';
import { status, type Metadata, type ServerDuplexStream } from '@grpc/grpc-js';
import type { OrderEvent as PairOrderEvent, TradingPair } from '../../pairs/trading-pair.ts';
import type { TradingPairs } from '../../pairs/trading-pairs.ts';
import { ValidationError } from '../../pairs/errors.ts';
import { UnavailableError } from '../../ports/errors.ts';
import { checkAdmission, checkDeadline, logIfUnexpected, type CallContext } from './call-context.ts';
import { MAX_BATCH_ITEMS } from './codec.ts';
import { ResourceExhaustedError, describeError, toItemError, toStatus, type ErrorFacts } from './errors.ts';
import type { OrderCommand, OrderFlowRequest, OrderFlowResponse, SubmitOrderRequest } from './generated/trading/v1/orders.ts';
import { encodeFlowResponse, type FlowPart } from './order-wire.ts';
import { endSlowStream, type StreamTicket } from './stream-limits.ts';
import type { OrderSessionHooks } from './order-session-hooks.ts';
import { itemPairs, settleAll, type DurabilityGate } from './durability-gate.ts';
import { CallAnswers, type PreparedSubmit, type SubmitAnswer } from './order-idempotency.ts';

/** What the stream asks of OrdersService: the command paths it shares with unary calls and batches. */
export interface OrderFlowCommands {
  /** The account name the call acts for (checked by the authenticator). */
  callerOf(call: { metadata: Metadata }): string;
  /** Takes `cost` from the account's rate limit. */
  admit(name: string, cost: number, call: { getDeadline(): Date | number }): Pending;
  /** Phases 1-2 of the submissions of one message (errors kept per item). */
  prepareSubmits(name: string, what: string, reqs: readonly (SubmitOrderRequest | undefined)[]): Promise<(PreparedSubmit | ErrorFacts | undefined)[]>;
  /** Applies one command synchronously: its result, the submission's answer, the pair it touched. */
  run(account: number, cmd: OrderCommand, prepared: PreparedSubmit | ErrorFacts | undefined, earlier: CallAnswers): { result: FlowResult; answer: SubmitAnswer | undefined; pair: TradingPair | undefined };
  /** Records the first results of new orders (idempotency). */
  rememberAll(name: string, answers: readonly (SubmitAnswer | undefined)[]): Pending;
}

/** A command's result in a flow reply (its error may still be set when its journal write fails). */
export type FlowResult = Extract<FlowPart, { kind: 'result' }>;

function eventPart(pair: TradingPair, events: readonly PairOrderEvent[]): Extract<FlowPart, { kind: 'events' }> {
  return { kind: 'events', inst: pair.instrument, events, answer: undefined };
}

/** OrderFlow replies waiting for durability per stream before the stream stops reading. */
const MAX_PENDING_FLOW_REPLIES = 64;

export function createOrderFlow(
  ctx: CallContext,
  pairs: TradingPairs,
  paths: OrderFlowCommands,
  hooks?: OrderSessionHooks,
  durability?: DurabilityGate,
): (call: ServerDuplexStream<OrderFlowRequest, OrderFlowResponse>) => void {
return (call: ServerDuplexStream<OrderFlowRequest, OrderFlowResponse>): void => {
    let name: string;
    let account: number;
    let ticket: StreamTicket;
    try {
      checkAdmission(ctx, call);
      name = paths.callerOf(call);
      account = pairs.accounts.intern(name);
      ticket = ctx.streams.admit('OrderFlow', call.getPeer(), name);
    } catch (err) {
      call.emit('error', toStatus(err));
      return;
    }
    let closed = false;
    /** When the stream's session was last known live (the interceptor checked it as the stream opened). */
    let sessionCheckedAtMs = ctx.nowMs();
    /** Messages of the batch being applied; events land here so they precede their command's result. */
    let batch: FlowPart[] | undefined;
    /** Requests received but not yet applied: applied strictly in order, one at a time. */
    const inbox: OrderFlowRequest[] = [];
    let working = false;
    let writeBlocked = false;
    /** Messages read ahead while one is being applied; beyond this, reading pauses. */
    const MAX_READ_AHEAD = 8;

    /**
     * With a journal, a message's reply waits for durability while the next messages are applied
     * (pipelined); replies leave in order through `replyTail`. Order events published meanwhile are
     * buffered and sent ahead of the next reply, so a command's events still precede its result.
     * Events of others' commands that arrive while no reply is due are sent together once per
     * event-loop turn (one message of many events instead of one per command), or ahead of the next
     * reply if that comes first.
     */
    let replyTail: Promise<void> = Promise.resolve();
    let pendingReplies = 0;
    let heldEvents: FlowPart[] = [];
    let flushScheduled = false;
    const flushHeld = (): void => {
      flushScheduled = false;
      if (pendingReplies > 0 || heldEvents.length === 0) return; // the next reply takes them
      const out = heldEvents;
      heldEvents = [];
      write(out);
    };
    /** `messages` with the held events ahead of them. */
    const afterHeld = (messages: FlowPart[]): FlowPart[] => {
      if (heldEvents.length === 0) return messages;
      const out = [...heldEvents, ...messages];
      heldEvents = [];
      return out;
    };

    const updateFlow = (): void => {
      if (closed) return;
      if (writeBlocked || inbox.length >= MAX_READ_AHEAD || pendingReplies >= MAX_PENDING_FLOW_REPLIES) call.pause();
      else call.resume();
    };

    const outbox = ctx.streams.outbox(call, (reason) => {
      if (closed) return;
      abandon();
      endSlowStream(call, () => call.emit('error', toStatus(reason)), ctx.streams.limits.slowConsumerGraceMs);
    });
    const writeEncoded = (message: Buffer): void => {
      if (closed) return;
      if (!outbox.write(message)) return;
      if (call.writableNeedDrain) {
        writeBlocked = true; // stop reading commands until the client reads results
        updateFlow();
      }
      if (call.writableLength > ctx.maxQueuedMessages) close(new ResourceExhaustedError('slow consumer: too many messages queued; stream ended'));
    };
    const write = (parts: readonly FlowPart[]): void => {
      if (!closed) writeEncoded(encodeFlowResponse(parts));
    };
    call.on('drain', () => {
      writeBlocked = false;
      updateFlow();
    });

    const unsubscribe = pairs.subscribeAccount(account, (pair, events) => {
      if (closed) return;
      if (batch !== undefined) batch.push(eventPart(pair, events));
      else {
        heldEvents.push(eventPart(pair, events));
        if (pendingReplies === 0 && !flushScheduled) {
          flushScheduled = true;
          setImmediate(flushHeld);
        }
      }
    });
    const unregister = ctx.registerStream((reason) => close(reason));

    /** Ends the stream: OK without a reason, else that error's status. */
    function close(reason?: Error): void {
      if (closed) return;
      if (reason === undefined && heldEvents.length > 0) write(afterHeld([])); // events of others still due
      abandon();
      if (reason === undefined) call.end();
      else call.emit('error', toStatus(reason));
    }
    /** Lets go of everything the stream holds, writing nothing (the client went away, or close() ends it). */
    function abandon(): void {
      if (closed) return;
      closed = true;
      inbox.length = 0;
      unsubscribe();
      unregister();
      outbox.release();
      ticket.release();
    }

    /** One flow message: admission, rate limit, records, then every command applied synchronously, then the reply. */
    const handle = async (req: OrderFlowRequest): Promise<void> => {
      if (ctx.isShuttingDown()) throw new UnavailableError('server', 'shutting down; commands not applied');
      checkDeadline(ctx, call);
      if (req.commands.length > MAX_BATCH_ITEMS) throw new ValidationError('commands', `must hold at most ${MAX_BATCH_ITEMS} commands, got ${req.commands.length}`);
      const commands = req.commands;
      let prepared: (PreparedSubmit | ErrorFacts | undefined)[] = [];
      if (hooks !== undefined) {
        try {
          // A stream outlives logouts and expiry: its session is checked again when due. Gone →
          // UnauthenticatedError, which ends the stream (below, by rethrowing).
          if (hooks.revalidate !== undefined && ctx.nowMs() - sessionCheckedAtMs >= hooks.streamRecheckMs) {
            await hooks.revalidate(call.metadata);
            sessionCheckedAtMs = ctx.nowMs();
          }
          await paths.admit(name, commands.length, call);
        } catch (err) {
          // A refused message is answered, not fatal: every command reports the refusal (with the retry
          // hint in its message), or that the session store could not be asked. Nothing was applied.
          if (closed) return;
          const facts = describeError(err);
          if (facts.code !== status.RESOURCE_EXHAUSTED && facts.code !== status.UNAVAILABLE) throw err;
          const error = toItemError(facts);
          write(afterHeld(commands.map((c): FlowPart => ({ kind: 'result', correlationId: c.correlationId, error, answer: undefined, order: undefined, inst: undefined }))));
          return;
        }
      }
      const anySubmit = commands.some((c) => c.command?.$case === 'submit');
      if (anySubmit) prepared = await paths.prepareSubmits(name, 'OrderFlow command', commands.map((c) => (c.command?.$case === 'submit' ? c.command.value : undefined)));
      if (closed) return;
      if (ctx.isShuttingDown()) throw new UnavailableError('server', 'shutting down; commands not applied');
      checkDeadline(ctx, call);
      const earlier = new CallAnswers();
      const answers: (SubmitAnswer | undefined)[] = [];
      const applied: ({ pair: TradingPair; sequence: number; result: FlowResult } | undefined)[] = [];
      batch = [];
      let messages: FlowPart[];
      try {
        for (let i = 0; i < commands.length; i++) {
          const { result, answer, pair } = paths.run(account, commands[i]!, prepared[i], earlier);
          // The order's own events were pushed right before its result: the answer holds them encoded.
          const last = batch[batch.length - 1];
          if (answer?.events !== undefined && last?.kind === 'events' && last.events === answer.events) last.answer = answer.answer;
          answers.push(answer);
          applied.push(pair && { pair, sequence: pair.lastCommandSequence, result });
          batch.push(result);
        }
      } finally {
        messages = batch;
        batch = undefined;
      }
      const wait = settleAll(durability, itemPairs(applied));
      // Awaited only once the replies before it are out: marked handled now, or a journal failure that
      // rejects it meanwhile is an unhandled rejection that kills the process (found by the chaos drill
      // postgres-reset-peer). The `await wait` below still sees the rejection.
      wait?.catch(() => {});
      if (wait === undefined && pendingReplies === 0) {
        write(afterHeld(messages));
        await paths.rememberAll(name, answers);
        return;
      }
      pendingReplies++;
      replyTail = replyTail.then(async () => {
        let failure: ErrorFacts | undefined;
        try {
          await wait;
        } catch (err) {
          failure = describeError(err);
        }
        if (failure !== undefined) {
          // Applied, not yet durable: those results carry UNAVAILABLE and are not remembered.
          for (let i = 0; i < applied.length; i++) {
            const a = applied[i];
            if (a === undefined || durability!.isDurable(a.pair, a.sequence)) continue;
            a.result.error = toItemError(failure);
            answers[i] = undefined;
          }
        }
        pendingReplies--;
        write(afterHeld(messages));
        updateFlow();
        await paths.rememberAll(name, answers);
      }).catch((err: unknown) => {
        logIfUnexpected(ctx, 'OrderFlow reply', err);
        close(err instanceof Error ? err : new Error(String(err)));
      });
    };

    /** The client half-closed: the stream ends once what it sent is applied and answered. */
    let ended = false;
    const pump = (): void => {
      if (working || closed) return;
      const req = inbox.shift();
      if (req === undefined) {
        if (ended) void replyTail.then(() => close());
        return;
      }
      working = true;
      updateFlow();
      handle(req).then(
        () => {
          working = false;
          // The next message in a later event-loop turn: with an in-memory store every await above resolves
          // at once, and one microtask chain would apply message after message of every stream (100+ ms)
          // before a reply reaches the socket or a read is taken.
          setImmediate(pump);
        },
        (err: unknown) => {
          working = false;
          logIfUnexpected(ctx, 'OrderFlow message', err);
          close(err instanceof Error ? err : new Error(String(err)));
        },
      );
    };

    call.on('data', (req: OrderFlowRequest) => {
      if (closed) return;
      inbox.push(req);
      updateFlow();
      pump();
    });
    call.on('end', () => {
      // Commands already received are still applied and answered before the stream ends.
      ended = true;
      pump();
    });
    call.on('cancelled', abandon);
    call.on('error', abandon);
  };
}
