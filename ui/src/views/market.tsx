/** Market: the live L2 ladder (best bid/ask and spread highlighted), the trades tape and the price chart. */
import { PriceChart } from '../components/price-chart.tsx';
import { formatTicks, timeOf } from '../format.ts';
import { useStore } from '../hooks.ts';
import type { Level } from '../store.ts';

const DEPTH = 15;

function LadderRow({ level, best, max }: { level: Level; best: boolean; max: number }) {
  const share = max > 0 ? Math.min(1, Number(level.q) / max) : 0; // display-only bar width
  return (
    <tr class={`${level.s === 'buy' ? 'bid' : 'ask'}${best ? ' best' : ''}`} data-price={level.p}>
      <td class="num price">{level.p}</td>
      <td class="num qty">
        <span class="bar" style={{ width: `${Math.round(share * 100)}%` }} />
        <span class="val">{level.q}</span>
      </td>
      <td class="num count">{level.n}</td>
    </tr>
  );
}

export function MarketView() {
  const s = useStore();
  const inst = s.instrument;
  const asks = s.top('sell', DEPTH);
  const bids = s.top('buy', DEPTH);
  const bestBid = bids[0];
  const bestAsk = asks[0];
  const max = Math.max(0, ...asks.map((l) => Number(l.q)), ...bids.map((l) => Number(l.q)));
  const spread = bestBid && bestAsk && inst ? formatTicks(bestAsk.t - bestBid.t, inst.tickSize) : undefined;
  const tape = s.trades.newest(30);
  return (
    <section class="market" aria-label={`Market ${s.pair}`}>
      <div class="panel ladder-panel">
        <h2>
          Order book <span class="muted">L2 · {s.pair}</span>
        </h2>
        <table class="ladder" aria-label={`Depth ladder of ${s.pair}`} data-sequence={s.sequence}>
          <thead>
            <tr>
              <th scope="col">Price</th>
              <th scope="col">Quantity</th>
              <th scope="col">Orders</th>
            </tr>
          </thead>
          <tbody class="asks">
            {asks.length === 0 && (
              <tr>
                <td colSpan={3} class="muted">no asks</td>
              </tr>
            )}
            {[...asks].reverse().map((l) => (
              <LadderRow key={`a${l.t}`} level={l} best={l === bestAsk} max={max} />
            ))}
          </tbody>
          <tbody class="spread-row">
            <tr>
              <td colSpan={3} class="spread" aria-live="off">
                {bestBid && bestAsk ? (
                  <>
                    <span class="bid-text" data-testid="best-bid">{bestBid.p}</span> / <span class="ask-text" data-testid="best-ask">{bestAsk.p}</span> · spread{' '}
                    <strong data-testid="spread">{spread}</strong>
                  </>
                ) : (
                  <span class="muted">one side is empty: no spread</span>
                )}
              </td>
            </tr>
          </tbody>
          <tbody class="bids">
            {bids.map((l) => (
              <LadderRow key={`b${l.t}`} level={l} best={l === bestBid} max={max} />
            ))}
            {bids.length === 0 && (
              <tr>
                <td colSpan={3} class="muted">no bids</td>
              </tr>
            )}
          </tbody>
        </table>
        <p class="muted small">
          sequence {s.sequence} · {s.bids.size} bid / {s.asks.size} ask levels
        </p>
      </div>
      <div class="panel tape-panel">
        <h2>Trades</h2>
        <table class="tape" aria-label={`Recent trades of ${s.pair}`}>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Price</th>
              <th scope="col">Quantity</th>
              <th scope="col">Taker</th>
            </tr>
          </thead>
          <tbody>
            {tape.length === 0 && (
              <tr>
                <td colSpan={4} class="muted">no trades yet</td>
              </tr>
            )}
            {tape.map((t) => (
              <tr key={t.id} class={t.side === 'buy' ? 'bid' : 'ask'} data-trade-id={t.id}>
                <td>{timeOf(t.ts)}</td>
                <td class="num">{t.p}</td>
                <td class="num">{t.q}</td>
                <td>{t.side}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="panel chart-panel">
        <h2>
          Price <span class="muted">trades · mid (yellow) · last 5 min</span>
        </h2>
        <PriceChart store={s} />
      </div>
    </section>
  );
}
