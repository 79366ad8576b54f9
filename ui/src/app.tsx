/** The shell: pair picker, live-connection status, admin-token prompt, and the three views as tabs. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { needsAdminToken, onAdminTokenChange, setAdminToken } from './api.ts';
import { ConfirmHost } from './components/confirm.tsx';
import { useStore } from './hooks.ts';
import { MarketView } from './views/market.tsx';
import { OperationsView } from './views/operations.tsx';
import { TradingView } from './views/trading.tsx';

const TABS = [
  { id: 'market', label: 'Market' },
  { id: 'trading', label: 'Trading' },
  { id: 'operations', label: 'Operations' },
] as const;
type Tab = (typeof TABS)[number]['id'];

function tabFromHash(): Tab {
  const h = location.hash.replace('#', '');
  return (TABS.find((t) => t.id === h)?.id ?? 'market') as Tab;
}

function AdminTokenPrompt() {
  const [needed, setNeeded] = useState(needsAdminToken());
  const [value, setValue] = useState('');
  useEffect(() => onAdminTokenChange(() => setNeeded(needsAdminToken())), []);
  if (!needed) return null;
  return (
    <form
      class="admin-token"
      aria-label="Admin token"
      onSubmit={(e) => {
        e.preventDefault();
        setAdminToken(value);
        setValue('');
        location.reload();
      }}
    >
      <label>
        This listener needs its ADMIN_TOKEN (kept in this tab's memory only)
        <input type="password" autoComplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
      </label>
      <button type="submit">Use token</button>
    </form>
  );
}

export function App() {
  const s = useStore();
  const [tab, setTab] = useState<Tab>(tabFromHash());
  const tabRefs = useRef<Record<string, HTMLButtonElement | null>>({});
  useEffect(() => {
    const onHash = () => setTab(tabFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const select = (t: Tab, focus = false) => {
    setTab(t);
    history.replaceState(null, '', `#${t}`);
    if (focus) tabRefs.current[t]?.focus();
  };
  const onTabKey = (e: KeyboardEvent) => {
    const i = TABS.findIndex((t) => t.id === tab);
    if (e.key === 'ArrowRight') select(TABS[(i + 1) % TABS.length]!.id, true);
    else if (e.key === 'ArrowLeft') select(TABS[(i + TABS.length - 1) % TABS.length]!.id, true);
    else return;
    e.preventDefault();
  };
  return (
    <main class="app">
      <header>
        <h1>trading-service</h1>
        <nav role="tablist" aria-label="Views" onKeyDown={onTabKey}>
          {TABS.map((t) => (
            <button
              key={t.id}
              ref={(el) => {
                tabRefs.current[t.id] = el;
              }}
              role="tab"
              id={`tab-${t.id}`}
              aria-selected={tab === t.id}
              aria-controls={`panel-${t.id}`}
              tabIndex={tab === t.id ? 0 : -1}
              onClick={() => select(t.id)}
            >
              {t.label}
            </button>
          ))}
        </nav>
        <label class="pair-picker">
          Pair
          <select value={s.pair} onChange={(e) => s.selectPair(e.currentTarget.value)} name="market-pair">
            {s.config?.pairs.map((p) => (
              <option key={p.symbol} value={p.symbol}>
                {p.symbol}
              </option>
            ))}
          </select>
        </label>
        <span class={`pill live-${s.liveStatus}`} role="status" title={s.liveDetail} data-testid="live-status">
          {s.liveStatus === 'live' ? '● live' : s.liveStatus}
        </span>
        <span class="muted small">{s.account ? `account ${s.account}` : 'not logged in'}</span>
      </header>
      <AdminTokenPrompt />
      <div id={`panel-${tab}`} class="main" role="tabpanel" aria-labelledby={`tab-${tab}`}>
        {tab === 'market' && <MarketView />}
        {tab === 'trading' && <TradingView />}
        {tab === 'operations' && <OperationsView />}
      </div>
      <ConfirmHost />
    </main>
  );
}
