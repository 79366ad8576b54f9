/** The order-book implementations by name, so adapters and tests pick one without importing both. */
import type { Instrument } from './instrument.ts';
import type { BookImplementation, OrderBook } from './order-book.ts';
import { LegacyBook } from './legacy-book/legacy-book.ts';

export const BOOK_IMPLEMENTATIONS: Partial<Record<BookImplementation, (instrument: Instrument) => OrderBook>> = {
  legacy: (instrument) => new LegacyBook(instrument),
};
