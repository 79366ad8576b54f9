/**
 * Operations: the runbook's controls in one page. Migration state and percentage per pair (set
 * percentage, start ramp, rollback, complete, stop-all, emergency stop / resume), circuit breakers with
 * reason, trip history and reset, /health with active alerts and their levels, p95 latency per
 * implementation and throughput over the last minutes, and chaos faults when the service has them.
 * Every button calls the runbook's own admin endpoint; destructive ones ask first.
 */
import { useState } from 'preact/hooks';
import { ApiError, get, post } from '../api.ts';
import { confirmAction } from '../components/confirm.tsx';
import { LineChart } from '../components/line-chart.tsx';
import { isoTime, ms } from '../format.ts';
import { usePoll, useStore } from '../hooks.ts';

interface MigrationRow {
  pair: string;
  state: string;
  current_percentage: number;
  target_percentage: number;
  ramp: { active: boolean; frozen: boolean; steps: number[]; step_index: number | null; next_step_at: string | null };
  last_reason: string;
  updated_at: string;
}
interface BreakerRow {
  pair: string;
  open: boolean;
  reason: string | null;
  detail: string | null;
  since: string | null;
  trip_count: number;
  state: string;
}
interface HistoryRow {
  pair: string;
  event: string;
  reason: string;
  detail: string;
  by: string | null;
  at: string;
}
interface Alert {
  name: string;
  level: number | string;
  severity: string;
  message: string;
  since?: string;
}
interface Health {
  status: string;
  at: string;
  checks: Record<string, { value: unknown; threshold?: unknown; ok: boolean }>;
  alerts: Alert[];
  service: Record<string, unknown>;
  trading: { accepting_new_orders: boolean; halted: { on: boolean; reason: string | null }; maintenance: { on: boolean; reason: string | null } };
}
interface Performance {
  per_implementation: Record<string, Record<string, number>>;
  per_pair: { pair: string; impl: string; role: string; latency_p95_ms: number; commands: number; errors: number }[];
  throughput: { orders_per_sec: number; commands_per_sec: number; trades_per_sec: number; errors: number };
  samples: { at: number; legacy_p95_ms: number; adaptive_p95_ms: number; orders_per_sec: number; commands_per_sec: number }[];
  ui: Record<string, number>;
}
interface Fault {
  pair: string;
  kind: string;
  everyNth: number;
  delayMs: number;
}

interface Data {
  migration?: MigrationRow[];
  breakers?: BreakerRow[];
  history?: HistoryRow[];
  health?: Health;
  perf?: Performance;
  faults?: Fault[];
  error?: string;
}

function useOps(chaos: boolean): [Data, () => Promise<void>] {
  const [data, setData] = useState<Data>({});
  const load = async () => {
    try {
      const [migration, breakers, history, health, perf, faults] = await Promise.all([
        get<MigrationRow[]>('/admin/migration/status'),
        get<BreakerRow[]>('/admin/circuit-breaker/status'),
        get<{ last_24h: HistoryRow[] }>('/admin/circuit-breaker/history'),
        get<Health>('/health'),
        get<Performance>('/ui/api/performance'),
        chaos ? get<Fault[]>('/admin/chaos/fault') : Promise.resolve(undefined),
      ]);
      setData({ migration, breakers, history: history.last_24h, health, perf, faults });
    } catch (e) {
      setData((d) => ({ ...d, error: e instanceof ApiError ? e.message : String(e) }));
    }
  };
  usePoll(load, 2_000, [chaos]);
  return [data, load];
}

export function OperationsView() {
  const s = useStore();
  const chaos = s.config?.chaosEnabled ?? false;
  const [data, reload] = useOps(chaos);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>(undefined);

  /** Calls one admin endpoint, shows its outcome, refreshes; resolves to whether it succeeded. */
  const act = async (label: string, path: string, body: Record<string, unknown> = {}): Promise<boolean> => {
    let ok = true;
    try {
      const r = await post<Record<string, unknown>>(path, body);
      const changed = Array.isArray(r['changed']) ? ` (changed: ${(r['changed'] as string[]).join(', ') || 'none'})` : '';
      setMessage({ ok: true, text: `${label}: done${changed}` });
    } catch (e) {
      ok = false;
      setMessage({ ok: false, text: `${label} refused: ${e instanceof ApiError ? e.message : String(e)}` });
    }
    await reload();
    return ok;
  };
  const confirmed = (title: string, body: string, confirmLabel: string, run: () => Promise<unknown>) => confirmAction({ title, body, confirmLabel, run: async () => void (await run()) });

  // The runbook's emergency_stop.sh / emergency_resume.sh, step by step; a failed step stops the sequence and stays on screen.
  const emergencyStop = async () => {
    const reason = { reason: 'emergency stop from the Trading UI' };
    if (!(await act('halt trading', '/admin/trading/halt', reason))) return;
    if (!(await act('migration emergency stop', '/admin/migration/emergency-stop', reason))) return;
    if (!(await act('activate all breakers', '/admin/circuit-breaker/activate-all', reason))) return;
    setMessage({ ok: true, text: 'EMERGENCY STOP: trading halted, every migrating pair to 0 % (legacy), all breakers open' });
  };
  const emergencyResume = async () => {
    if (!(await act('reset all breakers', '/admin/circuit-breaker/reset-all'))) return;
    if (await act('resume trading', '/admin/trading/resume', { reason: 'emergency resume from the Trading UI' })) setMessage({ ok: true, text: 'EMERGENCY RESUME: breakers reset, trading resumed' });
  };

  const h = data.health;
  const p = data.perf;
  return (
    <section class="operations" aria-label="Operations">
      {data.error && (
        <p class="error" role="alert">
          {data.error}
        </p>
      )}
      {message && (
        <p class={message.ok ? 'ok-text' : 'error'} role="status" data-testid="ops-message">
          {message.text}
        </p>
      )}
      <div class="panel">
        <h2>
          Health <span class={`pill status-${h?.status ?? 'unknown'}`} data-testid="health-status">{h?.status ?? '…'}</span>
          {h && !h.trading.accepting_new_orders && <span class="pill bad">new orders refused{h.trading.halted.on ? ' (halted)' : ' (maintenance)'}</span>}
        </h2>
        <div class="grid2">
          <table aria-label="Health checks">
            <thead>
              <tr>
                <th scope="col">Check</th>
                <th scope="col">Value</th>
                <th scope="col">Threshold</th>
                <th scope="col">OK</th>
              </tr>
            </thead>
            <tbody>
              {h &&
                Object.entries(h.checks).map(([name, c]) => (
                  <tr key={name} class={c.ok ? '' : 'alert-row'}>
                    <td>{name}</td>
                    <td class="num">{JSON.stringify(c.value)}</td>
                    <td class="num">{c.threshold === undefined ? '—' : JSON.stringify(c.threshold)}</td>
                    <td>{c.ok ? '✓' : '✗'}</td>
                  </tr>
                ))}
            </tbody>
          </table>
          <div>
            <h3>Active alerts</h3>
            {h && h.alerts.length === 0 && <p class="muted">none</p>}
            <ul class="alerts" aria-label="Active alerts">
              {h?.alerts.map((a) => (
                <li key={a.name} class={`sev-${a.severity}`}>
                  <span class="pill">level {a.level}</span> <strong>{a.name}</strong> <span class="muted">{a.severity}</span> — {a.message}
                </li>
              ))}
            </ul>
          </div>
        </div>
      </div>

      <div class="panel">
        <h2>Migration</h2>
        <div class="row">
          <button type="button" onClick={() => confirmed('Stop all ramps?', 'Freezes every running ramp at its current percentage.', 'Stop all ramps', () => act('stop-all', '/admin/migration/stop-all'))}>
            Stop all ramps
          </button>
          <button
            type="button"
            class="danger"
            onClick={() =>
              confirmed('EMERGENCY STOP?', 'Halts new orders, sets every migrating pair to 0 % (legacy book only; completed pairs stay) and opens every circuit breaker — the runbook emergency stop.', 'Emergency stop', emergencyStop)
            }
          >
            Emergency stop
          </button>
          <button type="button" onClick={() => confirmed('Emergency resume?', 'Resets every circuit breaker (each is verified against the legacy book) and resumes trading.', 'Resume', emergencyResume)}>
            Emergency resume
          </button>
        </div>
        <table class="migration" aria-label="Migration per pair">
          <thead>
            <tr>
              <th scope="col">Pair</th>
              <th scope="col">State</th>
              <th scope="col">Adaptive %</th>
              <th scope="col">Ramp</th>
              <th scope="col">Last reason</th>
              <th scope="col">Controls</th>
            </tr>
          </thead>
          <tbody>
            {data.migration?.map((m) => (
              <MigrationRowView key={m.pair} m={m} act={act} confirmed={confirmed} />
            ))}
          </tbody>
        </table>
      </div>

      <div class="panel">
        <h2>Circuit breakers</h2>
        <table class="breakers" aria-label="Circuit breakers">
          <thead>
            <tr>
              <th scope="col">Pair</th>
              <th scope="col">State</th>
              <th scope="col">Reason</th>
              <th scope="col">Since</th>
              <th scope="col">Trips</th>
              <th scope="col">Control</th>
            </tr>
          </thead>
          <tbody>
            {data.breakers?.map((b) => (
              <tr key={b.pair} data-pair={b.pair} data-state={b.state} class={b.open ? 'alert-row' : ''}>
                <td>{b.pair}</td>
                <td>
                  <span class={`pill ${b.open ? 'bad' : 'ok'}`}>{b.state}</span>
                </td>
                <td>
                  {b.reason ?? '—'}
                  {b.detail && <div class="muted small">{b.detail}</div>}
                </td>
                <td>{isoTime(b.since)}</td>
                <td class="num">{b.trip_count}</td>
                <td>
                  <button type="button" disabled={!b.open} onClick={() => act(`reset ${b.pair}`, `/admin/circuit-breaker/reset/${encodeURIComponent(b.pair)}`)} aria-label={`Reset the breaker of ${b.pair}`}>
                    Reset
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <h3>Trip history (24 h)</h3>
        {data.history?.length === 0 && <p class="muted">no trips</p>}
        <ul class="history" aria-label="Breaker trip history">
          {data.history
            ?.slice(-15)
            .reverse()
            .map((e, i) => (
              <li key={`${e.at}-${i}`}>
                {isoTime(e.at)} <strong>{e.pair}</strong> {e.event} ({e.reason}){e.by ? ` by ${e.by}` : ''} <span class="muted small">{e.detail}</span>
              </li>
            ))}
        </ul>
      </div>

      <div class="panel">
        <h2>Performance</h2>
        {p && (
          <>
            <table aria-label="p95 latency per implementation (last minute)">
              <thead>
                <tr>
                  <th scope="col">Implementation</th>
                  <th scope="col">p95 served</th>
                  <th scope="col">p95 shadow</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(p.per_implementation).map(([impl, r]) => (
                  <tr key={impl} data-impl={impl}>
                    <td>{impl}</td>
                    <td class="num">{ms(r['served'])}</td>
                    <td class="num">{ms(r['shadow'])}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p>
              Last minute: <strong>{Math.round(p.throughput.orders_per_sec * 10) / 10}</strong> orders/s · {Math.round(p.throughput.commands_per_sec * 10) / 10} commands/s · {Math.round(p.throughput.trades_per_sec * 10) / 10} trades/s · {p.throughput.errors} errors
            </p>
            <div class="grid2">
              <LineChart
                label="p95 latency per implementation over the last minutes"
                unit=" ms"
                series={[
                  { name: 'legacy p95 (served)', color: '#5b9cff', points: p.samples.map((x) => ({ at: x.at, v: x.legacy_p95_ms })) },
                  { name: 'adaptive p95 (served)', color: '#f5c542', points: p.samples.map((x) => ({ at: x.at, v: x.adaptive_p95_ms })) },
                ]}
              />
              <LineChart
                label="Throughput over the last minutes"
                unit="/s"
                series={[
                  { name: 'orders/s (1 min avg)', color: '#2ecc71', points: p.samples.map((x) => ({ at: x.at, v: x.orders_per_sec })) },
                  { name: 'commands/s (1 min avg)', color: '#b48cff', points: p.samples.map((x) => ({ at: x.at, v: x.commands_per_sec })) },
                ]}
              />
            </div>
          </>
        )}
      </div>

      {chaos && (
        <div class="panel chaos">
          <h2>
            Chaos faults <span class="pill bad">CHAOS_ENABLED</span>
          </h2>
          <table aria-label="Chaos faults per pair">
            <thead>
              <tr>
                <th scope="col">Pair</th>
                <th scope="col">Current fault</th>
                <th scope="col">Set fault</th>
              </tr>
            </thead>
            <tbody>
              {data.faults?.map((f) => (
                <FaultRow key={f.pair} f={f} act={act} confirmed={confirmed} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

type Act = (label: string, path: string, body?: Record<string, unknown>) => Promise<boolean>;
type Confirmed = (title: string, body: string, label: string, run: () => Promise<unknown>) => void;

function MigrationRowView({ m, act, confirmed }: { m: MigrationRow; act: Act; confirmed: Confirmed }) {
  const id = `pct-${m.pair}`;
  return (
    <tr data-pair={m.pair}>
      <td>{m.pair}</td>
      <td>
        <span class="pill">{m.state}</span>
      </td>
      <td class="num" data-testid={`pct-${m.pair}`}>
        {m.current_percentage} %{m.target_percentage !== m.current_percentage && <span class="muted"> → {m.target_percentage} %</span>}
      </td>
      <td>{m.ramp.active ? `${m.ramp.frozen ? 'frozen' : 'running'} · step ${(m.ramp.step_index ?? 0) + 1}/${m.ramp.steps.length} (${m.ramp.steps.join('→')})` : '—'}</td>
      <td class="small">{m.last_reason}</td>
      <td class="controls">
        <form
          class="inline"
          onSubmit={(ev) => {
            ev.preventDefault();
            // Read from the field itself: it is uncontrolled, so the 2-second refresh never replaces what the operator typed.
            const pct = String(new FormData(ev.currentTarget).get('percentage') ?? '');
            const n = Number(pct);
            void act(`${m.pair} to ${pct} %`, '/admin/migration/percentage', { pair: m.pair, percentage: Number.isInteger(n) && pct.trim() !== '' ? n : pct });
          }}
        >
          <label for={id} class="sr-only">
            Adaptive percentage for {m.pair}
          </label>
          <input id={id} name="percentage" type="number" min={0} max={100} step={1} defaultValue={String(m.target_percentage)} class="pct" />
          <button type="submit" aria-label={`Set the percentage of ${m.pair}`}>
            Set %
          </button>
        </form>
        <button type="button" onClick={() => act(`ramp ${m.pair}`, '/admin/migration/ramp', { pair: m.pair })} aria-label={`Start the ramp of ${m.pair}`}>
          Start ramp
        </button>
        <button type="button" onClick={() => confirmed(`Roll back ${m.pair}?`, `Sends every order of ${m.pair} to the legacy book (0 %).`, 'Roll back', () => act(`rollback ${m.pair}`, '/admin/migration/rollback', { pair: m.pair }))} aria-label={`Roll back ${m.pair}`}>
          Rollback
        </button>
        <button
          type="button"
          onClick={() => confirmed(`Complete ${m.pair}?`, `Makes the adaptive book the only book of ${m.pair} (100 %, legacy stopped).`, 'Complete', () => act(`complete ${m.pair}`, '/admin/migration/complete', { pair: m.pair }))}
          aria-label={`Complete the migration of ${m.pair}`}
        >
          Complete
        </button>
      </td>
    </tr>
  );
}

function FaultRow({ f, act, confirmed }: { f: Fault; act: Act; confirmed: Confirmed }) {
  const [kind, setKind] = useState('throw');
  const id = `fault-${f.pair}`;
  return (
    <tr data-pair={f.pair}>
      <td>{f.pair}</td>
      <td>
        <span class={`pill ${f.kind === 'none' ? 'ok' : 'bad'}`}>{f.kind}</span>
        {f.kind !== 'none' && <span class="muted small"> every {f.everyNth}{f.kind === 'slow' ? `, ${f.delayMs} ms` : ''}</span>}
      </td>
      <td>
        <label for={id} class="sr-only">
          Fault kind for {f.pair}
        </label>
        <select id={id} value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
          {['throw', 'diverge', 'slow', 'none'].map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>{' '}
        <button
          type="button"
          aria-label={`Inject the fault into ${f.pair}`}
          onClick={() =>
            kind === 'none'
              ? act(`clear fault ${f.pair}`, '/admin/chaos/fault', { pair: f.pair, kind })
              : confirmed(`Inject "${kind}" into ${f.pair}?`, `The adaptive book of ${f.pair} will ${kind === 'throw' ? 'throw on every command' : kind === 'diverge' ? 'diverge from the legacy book' : 'answer slowly'}; its breaker should open.`, 'Inject fault', () =>
                  act(`fault ${kind} on ${f.pair}`, '/admin/chaos/fault', { pair: f.pair, kind }),
                )
          }
        >
          Apply
        </button>
      </td>
    </tr>
  );
}
