/**
 * Entry point for counting the instructions of the service's per-command path below the gRPC handlers
 * (loadtest/bench-service-path-instructions.ts bundles it and runs it under `valgrind --tool=callgrind`):
 * a TradingService in memory with its real wiring (control plane, both books in the default shadow
 * migration, monitor and metrics hooks, the ServingBook built by createBook), driven through
 * TradingPair.submit. One untimed warm-up pass, then PASSES passes; the script subtracts a PASSES=0 run.
 * Each pass: ROUNDS × (a resting sell of 2 lots, two IOC buys of 1 lot that take it), so the book ends
 * empty; a macrotask turn every 99 commands lets the shadow book drain as it does in the service. The
 * clock is a ManualClock moved 1 ms per round, so the count does not depend on valgrind's speed.
 *
 *   node service-path-instructions.mjs <passes> <rounds>
 */
import { loadConfig } from '../server/config.ts';
import { TradingService } from '../server/adapters/trading-service.ts';
import { OrderType, Side, StpMode, TimeInForce } from '../server/core/types.ts';
import { ManualClock } from '../server/ports/clock.ts';

const passes = Number(process.argv[2]);
const rounds = Number(process.argv[3] ?? '10000');
if (!Number.isSafeInteger(passes) || passes < 0 || !Number.isSafeInteger(rounds) || rounds <= 0) throw new Error('usage: service-path-instructions.mjs <passes> <rounds>');

const quiet = { info() {}, error() {} };
// A clock that moves 1 ms per round: the monitor's per-second and per-minute work then depends on the
// commands, not on how slowly valgrind runs them (with the system clock the count moved by ±5 %).
const clock = new ManualClock();
const service = new TradingService(loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', PERSISTENCE: 'memory' }), { logger: quiet, clock });
const pair = service.pairs.get('BTCUSDT')!;
const maker = service.pairs.accounts.intern('maker');
const taker = service.pairs.accounts.intern('taker');
const price = pair.instrument.minPriceTicks + 1000;
const base = { clientOrderId: '', postOnly: false, price, stp: StpMode.CancelTaker } as const;
const sell = { ...base, side: Side.Sell, type: OrderType.Limit, tif: TimeInForce.GTC, quantity: 2 * pair.instrument.minQuantityLots };
const buy = { ...base, side: Side.Buy, type: OrderType.Limit, tif: TimeInForce.IOC, quantity: pair.instrument.minQuantityLots };
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let fills = 0;
async function pass(): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    pair.submit(maker, sell);
    fills += pair.submit(taker, buy).events.length;
    fills += pair.submit(taker, buy).events.length;
    clock.advanceMs(1);
    if (r % 33 === 32) await turn();
  }
  await turn();
}

await pass();
for (let i = 0; i < passes; i++) await pass();
console.log(JSON.stringify({ passes, commands: rounds * 3, events: fills, implementation: pair.implementation }));
process.exit(0);
