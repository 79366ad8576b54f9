/**
 * Trading: log in with an API key (the server keeps the session token in an HttpOnly cookie), place
 * limit / market orders with IOC / FOK / post-only, watch own open orders and fills live, cancel and
 * replace. A refused request shows the service's reason beside the field it names.
 */
import { useState } from 'preact/hooks';
import { ApiError, post } from '../api.ts';
import { confirmAction } from '../components/confirm.tsx';
import { timeOf } from '../format.ts';
import { useStore } from '../hooks.ts';
import type { OrderEventUi, UiOrder } from '../store.ts';

type OrderField = 'pair' | 'side' | 'type' | 'timeInForce' | 'postOnly' | 'price' | 'quantity' | 'clientOrderId' | 'stpMode';

/** The service names fields as the gRPC API spells them; the form as the JSON does. */
const FIELD_ALIASES: Record<string, OrderField> = {
  pair: 'pair',
  side: 'side',
  type: 'type',
  time_in_force: 'timeInForce',
  timeInForce: 'timeInForce',
  post_only: 'postOnly',
  postOnly: 'postOnly',
  price: 'price',
  quantity: 'quantity',
  client_order_id: 'clientOrderId',
  clientOrderId: 'clientOrderId',
  stp_mode: 'stpMode',
  stpMode: 'stpMode',
};

const STP_MODES = [
  ['', 'Cancel taker (default)'],
  ['CANCEL_MAKER', 'Cancel maker'],
  ['CANCEL_BOTH', 'Cancel both'],
  ['DECREMENT_AND_CANCEL', 'Decrement and cancel'],
  ['NONE', 'None (may self-trade)'],
] as const;

interface FormError {
  field?: OrderField | string;
  message: string;
}

function errorOf(e: unknown): FormError {
  if (e instanceof ApiError) return { field: e.field ? (FIELD_ALIASES[e.field] ?? e.field) : undefined, message: e.field ? `${e.field}: ${e.reason.replace(new RegExp(`^${e.field}: `), '')}` : `${e.error}: ${e.reason}` };
  return { message: String(e) };
}

function FieldError({ id, error, field }: { id: string; error: FormError | undefined; field: string }) {
  if (error?.field !== field) return null;
  return (
    <span id={id} class="field-error" role="alert">
      {error.message}
    </span>
  );
}

function LoginPanel() {
  const s = useStore();
  const [keyId, setKeyId] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<FormError | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  if (s.account !== null) {
    return (
      <div class="panel session">
        <p>
          Logged in as <strong data-testid="account">{s.account}</strong> <span class={`pill ${s.sessionState === 'live' ? 'ok' : 'warn'}`}>order events: {s.sessionState}</span>
        </p>
        <button
          type="button"
          onClick={async () => {
            await post('/ui/api/logout').catch(() => {});
            s.setAccount(null);
          }}
        >
          Log out
        </button>
      </div>
    );
  }
  return (
    <form
      class="panel login"
      aria-label="Log in with an API key"
      onSubmit={async (ev) => {
        ev.preventDefault();
        setBusy(true);
        setError(undefined);
        try {
          const r = await post<{ account: string }>('/ui/api/login', { apiKeyId: keyId.trim(), apiKeySecret: secret.trim() });
          setSecret('');
          s.setAccount(r.account);
        } catch (e) {
          setError(errorOf(e));
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>Log in</h2>
      <p class="muted small">An API key from an operator (POST /admin/accounts/ACCOUNT/api-keys; `npm start` prints a demo key). The session token stays in an HttpOnly cookie.</p>
      <label>
        API key id
        <input name="apiKeyId" autoComplete="username" value={keyId} onInput={(e) => setKeyId(e.currentTarget.value)} aria-invalid={error?.field === 'api_key_id'} required />
      </label>
      <label>
        API key secret
        <input name="apiKeySecret" type="password" autoComplete="current-password" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} required />
      </label>
      <button type="submit" disabled={busy}>
        Log in
      </button>
      {error && (
        <p class="error" role="alert">
          {error.message}
        </p>
      )}
    </form>
  );
}

function OrderForm() {
  const s = useStore();
  const [pair, setPair] = useState(s.pair);
  const [side, setSide] = useState<'buy' | 'sell'>('buy');
  const [type, setType] = useState<'limit' | 'market'>('limit');
  const [tif, setTif] = useState<'GTC' | 'IOC' | 'FOK'>('GTC');
  const [postOnly, setPostOnly] = useState(false);
  const [price, setPrice] = useState('');
  const [quantity, setQuantity] = useState('');
  const [clientOrderId, setClientOrderId] = useState('');
  const [stpMode, setStpMode] = useState('');
  const [error, setError] = useState<FormError | undefined>(undefined);
  const [result, setResult] = useState('');
  const [busy, setBusy] = useState(false);
  const inst = s.config?.pairs.find((p) => p.symbol === pair);
  const disabled = s.account === null;
  const invalid = (f: OrderField) => (error?.field === f ? { 'aria-invalid': true, 'aria-describedby': `err-${f}` } : {});
  return (
    <form
      class="panel order-form"
      aria-label="Place an order"
      onSubmit={async (ev) => {
        ev.preventDefault();
        setBusy(true);
        setError(undefined);
        setResult('');
        try {
          const body: Record<string, unknown> = { pair, side, type, quantity: quantity.trim(), postOnly };
          if (type === 'limit') body['price'] = price.trim();
          if (type === 'limit' || tif !== 'GTC') body['timeInForce'] = type === 'market' && tif === 'GTC' ? 'IOC' : tif;
          if (clientOrderId.trim() !== '') body['clientOrderId'] = clientOrderId.trim();
          if (stpMode !== '') body['stpMode'] = stpMode;
          const r = await post<{ order: UiOrder | null; events: OrderEventUi[] }>('/ui/api/orders', body);
          if (r.order) {
            s.upsertOrder(r.order);
            setResult(`order ${r.order.orderId}: ${r.order.status}${r.order.cancelReason ? ` (${r.order.cancelReason})` : ''}, filled ${r.order.filled} of ${r.order.quantity}`);
          }
        } catch (e) {
          setError(errorOf(e));
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>New order</h2>
      <fieldset disabled={disabled || busy}>
        <label>
          Pair
          <select name="pair" value={pair} onChange={(e) => setPair(e.currentTarget.value)} {...invalid('pair')}>
            {s.config?.pairs.map((p) => (
              <option key={p.symbol} value={p.symbol}>
                {p.symbol}
              </option>
            ))}
          </select>
        </label>
        <FieldError id="err-pair" error={error} field="pair" />
        <div class="segmented" role="radiogroup" aria-label="Side">
          {(['buy', 'sell'] as const).map((v) => (
            <label key={v} class={`seg ${v} ${side === v ? 'on' : ''}`}>
              <input type="radio" name="side" value={v} checked={side === v} onChange={() => setSide(v)} />
              {v === 'buy' ? 'Buy' : 'Sell'}
            </label>
          ))}
        </div>
        <div class="row">
          <label>
            Type
            <select name="type" value={type} onChange={(e) => setType(e.currentTarget.value as 'limit' | 'market')}>
              <option value="limit">Limit</option>
              <option value="market">Market</option>
            </select>
          </label>
          <label>
            Time in force
            <select name="timeInForce" value={tif} onChange={(e) => setTif(e.currentTarget.value as 'GTC' | 'IOC' | 'FOK')} {...invalid('timeInForce')}>
              {type === 'limit' && <option value="GTC">GTC</option>}
              <option value="IOC">IOC</option>
              <option value="FOK">FOK</option>
            </select>
          </label>
        </div>
        <FieldError id="err-timeInForce" error={error} field="timeInForce" />
        <label class="check">
          <input type="checkbox" name="postOnly" checked={postOnly} onChange={(e) => setPostOnly(e.currentTarget.checked)} {...invalid('postOnly')} /> Post-only (never takes liquidity)
        </label>
        <FieldError id="err-postOnly" error={error} field="postOnly" />
        <label>
          Price {inst && <span class="muted small">tick {inst.tickSize} {inst.quoteAsset}</span>}
          <input name="price" inputMode="decimal" autoComplete="off" value={type === 'market' ? '' : price} disabled={type === 'market'} placeholder={type === 'market' ? 'market' : inst?.tickSize} onInput={(e) => setPrice(e.currentTarget.value)} {...invalid('price')} />
        </label>
        <FieldError id="err-price" error={error} field="price" />
        <label>
          Quantity {inst && <span class="muted small">lot {inst.lotSize} {inst.baseAsset}</span>}
          <input name="quantity" inputMode="decimal" autoComplete="off" value={quantity} placeholder={inst?.lotSize} onInput={(e) => setQuantity(e.currentTarget.value)} {...invalid('quantity')} />
        </label>
        <FieldError id="err-quantity" error={error} field="quantity" />
        <label>
          Client order id <span class="muted small">optional, makes a retry idempotent</span>
          <input name="clientOrderId" autoComplete="off" value={clientOrderId} onInput={(e) => setClientOrderId(e.currentTarget.value)} {...invalid('clientOrderId')} />
        </label>
        <FieldError id="err-clientOrderId" error={error} field="clientOrderId" />
        <label>
          Self-trade prevention
          <select name="stpMode" value={stpMode} onChange={(e) => setStpMode(e.currentTarget.value)} {...invalid('stpMode')}>
            {STP_MODES.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <FieldError id="err-stpMode" error={error} field="stpMode" />
        <button type="submit" class={side === 'buy' ? 'buy' : 'sell'}>
          {side === 'buy' ? 'Buy' : 'Sell'} {pair}
        </button>
      </fieldset>
      {disabled && <p class="muted small">Log in to trade.</p>}
      {error && error.field === undefined && (
        <p class="error" role="alert">
          {error.message}
        </p>
      )}
      {result && (
        <p class="ok-text" role="status">
          {result}
        </p>
      )}
    </form>
  );
}

function OpenOrderRow({ o }: { o: UiOrder }) {
  const [editing, setEditing] = useState(false);
  const [price, setPrice] = useState(o.price);
  const [quantity, setQuantity] = useState(o.remaining);
  const [error, setError] = useState<FormError | undefined>(undefined);
  const s = useStore();
  const call = async (path: string, body: Record<string, unknown>) => {
    setError(undefined);
    try {
      const r = await post<{ order: UiOrder | null }>(path, body);
      if (r.order) s.upsertOrder(r.order);
      setEditing(false);
    } catch (e) {
      setError(errorOf(e));
    }
  };
  return (
    <>
      <tr data-order-id={o.orderId}>
        <td>{o.pair}</td>
        <td>{o.orderId}</td>
        <td class={o.side === 'buy' ? 'bid-text' : 'ask-text'}>{o.side}</td>
        <td class="num">{o.price}</td>
        <td class="num">{o.remaining}</td>
        <td class="num">{o.quantity}</td>
        <td>{o.status}</td>
        <td class="actions">
          <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing} aria-label={`Replace order ${o.orderId}`}>
            Replace
          </button>
          <button type="button" class="danger" onClick={() => call('/ui/api/orders/cancel', { pair: o.pair, orderId: o.orderId })} aria-label={`Cancel order ${o.orderId}`}>
            Cancel
          </button>
        </td>
      </tr>
      {editing && (
        <tr class="editor">
          <td colSpan={8}>
            <form
              class="row"
              aria-label={`Replace order ${o.orderId}`}
              onSubmit={(ev) => {
                ev.preventDefault();
                void call('/ui/api/orders/replace', { pair: o.pair, orderId: o.orderId, price: price.trim(), quantity: quantity.trim() });
              }}
            >
              <label>
                New price
                <input name="replacePrice" value={price} onInput={(e) => setPrice(e.currentTarget.value)} aria-invalid={error?.field === 'price'} />
              </label>
              <label>
                New open quantity
                <input name="replaceQuantity" value={quantity} onInput={(e) => setQuantity(e.currentTarget.value)} aria-invalid={error?.field === 'quantity'} />
              </label>
              <button type="submit">Send replace</button>
            </form>
          </td>
        </tr>
      )}
      {error && (
        <tr>
          <td colSpan={8} class="error" role="alert">
            {error.message}
          </td>
        </tr>
      )}
    </>
  );
}

export function TradingView() {
  const s = useStore();
  const [listError, setListError] = useState('');
  const open = [...s.orders.values()].sort((a, b) => (a.pair === b.pair ? Number(b.orderId) - Number(a.orderId) : a.pair < b.pair ? -1 : 1));
  const fills = s.fills.newest(30);
  return (
    <section class="trading" aria-label="Trading">
      <div class="col">
        <LoginPanel />
        <OrderForm />
      </div>
      <div class="col wide">
        <div class="panel">
          <h2>
            Open orders <span class="muted">{open.length}</span>
            {s.account !== null && open.some((o) => o.pair === s.pair) && (
              <button
                type="button"
                class="danger"
                onClick={() =>
                  confirmAction({
                    title: `Cancel all your ${s.pair} orders?`,
                    body: `Cancels every open order of account ${s.account} in ${s.pair}, both sides.`,
                    confirmLabel: 'Cancel all',
                    run: async () => {
                      try {
                        const r = await post<{ orders: UiOrder[] }>('/ui/api/orders/cancel-all', { pair: s.pair });
                        for (const o of r.orders) s.upsertOrder(o);
                      } catch (e) {
                        setListError(errorOf(e).message);
                      }
                    },
                  })
                }
              >
                Cancel all {s.pair}
              </button>
            )}
          </h2>
          {listError && (
            <p class="error" role="alert">
              {listError}
            </p>
          )}
          <table class="orders" aria-label="Own open orders">
            <thead>
              <tr>
                <th scope="col">Pair</th>
                <th scope="col">Id</th>
                <th scope="col">Side</th>
                <th scope="col">Price</th>
                <th scope="col">Open</th>
                <th scope="col">Quantity</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {open.length === 0 && (
                <tr>
                  <td colSpan={8} class="muted">
                    {s.account === null ? 'log in to see your orders' : 'no open orders'}
                  </td>
                </tr>
              )}
              {open.map((o) => (
                <OpenOrderRow key={`${o.pair}#${o.orderId}`} o={o} />
              ))}
            </tbody>
          </table>
        </div>
        <div class="panel">
          <h2>Fills</h2>
          <table class="fills" aria-label="Own fills">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Pair</th>
                <th scope="col">Order</th>
                <th scope="col">Price</th>
                <th scope="col">Quantity</th>
                <th scope="col">Liquidity</th>
              </tr>
            </thead>
            <tbody>
              {fills.length === 0 && (
                <tr>
                  <td colSpan={6} class="muted">no fills yet</td>
                </tr>
              )}
              {fills.map((f) => (
                <tr key={`${f.pair}-${f.tradeId}-${f.orderId}`} data-fill-order={f.orderId}>
                  <td>{timeOf(f.ts)}</td>
                  <td>{f.pair}</td>
                  <td>{f.orderId}</td>
                  <td class="num">{f.price}</td>
                  <td class="num">{f.quantity}</td>
                  <td>{f.liquidity}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </section>
  );
}
