/**
 * The service as `npm run bench:grpc` runs it: TradingPairs + TradingGrpcServer composed as server/main.ts
 * composes them (all DEFAULT_INSTRUMENTS, one serving book per pair, the system clock), without the
 * composition root's other duties (config file, admin API, migration), so the benchmark does not break
 * or change meaning while those evolve. Set BENCH_SERVICE_ENTRY=server/main.ts to measure the real root.
 *
 *   node --import tsx loadtest/grpc-bench-server.ts   # GRPC_HOST (127.0.0.1), GRPC_PORT (0), BOOK_IMPLEMENTATION (legacy)
 *
 * Prints `grpc-bench-server listening for gRPC on HOST:PORT` once bound; drains and exits on SIGTERM/SIGINT.
 */
import { TradingGrpcServer } from '../server/adapters/grpc/grpc-server.ts';
import { BOOK_IMPLEMENTATIONS } from '../server/core/book-implementations.ts';
import { DEFAULT_INSTRUMENTS, compileInstrument } from '../server/core/instrument.ts';
import type { BookImplementation } from '../server/core/order-book.ts';
import { singleBook } from '../server/pairs/serving-book.ts';
import { TradingPairs } from '../server/pairs/trading-pairs.ts';
import type { Clock } from '../server/ports/clock.ts';

const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicNs: () => process.hrtime.bigint(),
};

async function main(): Promise<void> {
  const host = process.env.GRPC_HOST || '127.0.0.1';
  const port = Number(process.env.GRPC_PORT || '0');
  const book = (process.env.BOOK_IMPLEMENTATION || 'legacy') as BookImplementation;
  if (!(book in BOOK_IMPLEMENTATIONS)) throw new Error(`BOOK_IMPLEMENTATION must be one of ${Object.keys(BOOK_IMPLEMENTATIONS).join(', ')}, got ${book}`);
  const instruments = DEFAULT_INSTRUMENTS.map(compileInstrument);
  const pairs = new TradingPairs({
    instruments,
    createBook: singleBook(BOOK_IMPLEMENTATIONS[book]),
    clock: systemClock,
    onSubscriberError: (err) => console.error('subscriber failed and was removed', err),
  });
  const grpc = new TradingGrpcServer({ pairs });
  const bound = await grpc.listen(host, port);
  console.log(`grpc-bench-server listening for gRPC on ${host}:${bound} (book: ${book})`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    grpc.shutdown(5_000).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error('grpc-bench-server failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
