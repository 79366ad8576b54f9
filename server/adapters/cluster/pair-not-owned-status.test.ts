/** The routing contract as the gRPC edge writes it (orders.proto, market_data.proto, docs/cluster.md). */
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { PairNotOwnedError } from '../../ports/errors.ts';
import { PAIR_OWNER_ADDRESS_HEADER, PAIR_OWNER_HEADER, RETRY_AFTER_HEADER, toStatus } from '../grpc/errors.ts';

describe('PairNotOwnedError as a gRPC status', () => {
  it('owned elsewhere: UNAVAILABLE naming the owner and its address, in the message and the trailing metadata', () => {
    const s = toStatus(new PairNotOwnedError('BTCUSDT', 'r2', '10.0.0.2:50051', 500));
    expect(s.code).toBe(status.UNAVAILABLE);
    expect(s.details).toMatch(/BTCUSDT is owned by replica r2 at 10\.0\.0\.2:50051; nothing was applied/);
    expect(s.metadata!.get(PAIR_OWNER_HEADER)).toEqual(['r2']);
    expect(s.metadata!.get(PAIR_OWNER_ADDRESS_HEADER)).toEqual(['10.0.0.2:50051']);
    expect(s.metadata!.get(RETRY_AFTER_HEADER)).toEqual([]);
  });

  it('no owner (hand-over): UNAVAILABLE without x-pair-owner, with the retry hint', () => {
    const s = toStatus(new PairNotOwnedError('ETHUSDT', undefined, undefined, 500));
    expect(s.code).toBe(status.UNAVAILABLE);
    expect(s.details).toMatch(/ETHUSDT has no owner right now .* retry in about 500 ms/);
    expect(s.metadata!.get(PAIR_OWNER_HEADER)).toEqual([]);
    expect(s.metadata!.get(RETRY_AFTER_HEADER)).toEqual(['500']);
  });
});
