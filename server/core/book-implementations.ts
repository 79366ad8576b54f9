/** The order-book implementations by name, so adapters and tests pick one without importing both. */
import { AdaptiveBook } from './adaptive-book/adaptive-book.ts';
import type { Instrument } from './instrument.ts';
import { LegacyBook } from './legacy-book/legacy-book.ts';
import type { BookImplementation, OrderBook } from './order-book.ts';

export const BOOK_IMPLEMENTATIONS: Readonly<Record<BookImplementation, (instrument: Instrument) => OrderBook>> = {
  legacy: (instrument) => new LegacyBook(instrument),
  adaptive: (instrument) => new AdaptiveBook(instrument),
};
