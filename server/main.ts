/**
 * Composition root: reads the config once, builds the pairs and the gRPC server, starts listening, and
 * shuts down gracefully on SIGTERM/SIGINT. Nothing imports this module.
 */
import { BOOK_IMPLEMENTATIONS } from './core/book-implementations.ts';
import { DEFAULT_INSTRUMENTS, compileInstrument } from './core/instrument.ts';
import { TradingGrpcServer } from './adapters/grpc/grpc-server.ts';
import { loadConfig } from './config.ts';
import { singleBook } from './pairs/serving-book.ts';
import { TradingPairs } from './pairs/trading-pairs.ts';
import type { Clock } from './ports/clock.ts';

const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicNs: () => process.hrtime.bigint(),
};

async function main(): Promise<void> {
  const config = loadConfig();
  const instruments = DEFAULT_INSTRUMENTS.map(compileInstrument);
  const pairs = new TradingPairs({
    instruments,
    createBook: singleBook(BOOK_IMPLEMENTATIONS[config.bookImplementation]),
    clock: systemClock,
    onSubscriberError: (err) => console.error('subscriber failed and was removed', err),
  });
  const grpc = new TradingGrpcServer({ pairs });
  const port = await grpc.listen(config.grpcHost, config.grpcPort);
  console.log(
    `trading-service listening for gRPC on ${config.grpcHost}:${port} (book: ${config.bookImplementation}; pairs: ${instruments.map((i) => i.symbol).join(', ')})`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    console.log(`trading-service: ${signal} received; draining (up to ${config.shutdownGraceMs} ms)`);
    grpc.shutdown(config.shutdownGraceMs).then(
      (how) => {
        console.log(`trading-service: stopped (${how})`);
        process.exit(0);
      },
      (err: unknown) => {
        console.error('trading-service: shutdown failed', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error('trading-service failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
