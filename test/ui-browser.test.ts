// The Trading UI end to end: Debian's headless Chromium (playwright-core) against a real in-process
// TradingService (ports 0, sessions, chaos endpoints on) serving the built page at /ui/. Two accounts log
// in through the page with API keys made by the admin API, trade against each other, and the ladder,
// tape, own orders and fills follow; a bad price shows the service's reason at the price field; an
// operator sets a pair's percentage, trips a breaker with the chaos fault, sees why, resets it. Then a
// bounded load run measures how the page keeps up (figures printed and written to
// ui/results/ui-load.json; no timed assertion: the only assertions are that the page ends on exactly the
// engine's book). Screenshots of each view go to ui/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradingService } from '../server/adapters/trading-service.ts';
import { OrdersServiceClient, type OrderFlowRequest, type OrderFlowResponse } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { OrderType, Side, TimeInForce } from '../server/adapters/grpc/generated/trading/v1/types.ts';
import { loadConfig } from '../server/config.ts';
import { adminApiKeys, loginAt } from './grpc-harness.ts';
import { UI_RESULTS, ensureUiBuilt, launchChromium } from './ui-support.ts';

const quiet = { info: () => {}, error: () => {} };
/** Retries until the value matches (the page updates asynchronously); fails after `timeout`. */
const eventually = <T>(fn: () => T | Promise<T>, opts: { timeout?: number } = {}) => expect.poll(fn, { timeout: 10_000, interval: 100, ...opts });
const PAIR = 'BTCUSDT';

let service: TradingService;
let base: string;
let grpcAddress: string;
let browser: Browser;
const contexts: BrowserContext[] = [];
let alice: Page;
let bob: Page;
const keys: Record<string, { keyId: string; secret: string }> = {};

async function newPage(): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  contexts.push(ctx);
  ctx.setDefaultTimeout(10_000);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  return page;
}

async function login(page: Page, account: string): Promise<void> {
  await page.goto(`${base}/ui/#trading`);
  await page.getByLabel('API key id').fill(keys[account]!.keyId);
  await page.getByLabel('API key secret').fill(keys[account]!.secret);
  await page.getByRole('button', { name: 'Log in' }).click();
  await eventually(() => page.getByTestId('account').textContent()).toBe(account);
  await eventually(() => page.locator('.session .pill').textContent()).toContain('live');
}

async function placeOrder(page: Page, o: { side: 'buy' | 'sell'; price: string; quantity: string; type?: 'limit' | 'market'; tif?: string }): Promise<void> {
  const form = page.getByRole('form', { name: 'Place an order' });
  await form.getByLabel('Pair').selectOption(PAIR);
  await form.getByText(o.side === 'buy' ? 'Buy' : 'Sell', { exact: true }).click();
  await form.getByLabel('Type').selectOption(o.type ?? 'limit');
  if (o.tif) await form.getByLabel('Time in force').selectOption(o.tif);
  if ((o.type ?? 'limit') === 'limit') await form.getByLabel(/^Price/).fill(o.price);
  await form.getByLabel(/^Quantity/).fill(o.quantity);
  await form.getByRole('button', { name: `${o.side === 'buy' ? 'Buy' : 'Sell'} ${PAIR}` }).click();
}

async function tab(page: Page, name: 'Market' | 'Trading' | 'Operations'): Promise<void> {
  await page.getByRole('tab', { name }).click();
}

async function adminGet(path: string): Promise<any> {
  const res = await fetch(`${base}${path}`);
  return res.json();
}

beforeAll(async () => {
  ensureUiBuilt();
  mkdirSync(UI_RESULTS, { recursive: true });
  service = new TradingService(
    loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', CHAOS_ENABLED: 'true', RATE_LIMIT_PER_SECOND: '1000000', RATE_LIMIT_BURST: '10000000' }),
    { logger: quiet },
  );
  const ports = await service.start();
  base = `http://127.0.0.1:${ports.adminPort}`;
  grpcAddress = `127.0.0.1:${ports.grpcPort}`;
  const create = adminApiKeys(base);
  for (const account of ['alice', 'bob', 'loader-a', 'loader-b']) keys[account] = await create(account);
  browser = await launchChromium();
  alice = await newPage();
  bob = await newPage();
}, 180_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await service?.stop(1_000);
});

describe('Trading UI in headless Chromium against the real service', () => {
  it('serves the page at /ui/ with a strict CSP, and logs two accounts in without exposing the token', async () => {
    const res = await fetch(`${base}/ui/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    await login(alice, 'alice');
    await login(bob, 'bob');
    // The session token is in an HttpOnly cookie: not readable by page scripts, not in the URL.
    const cookies = await contexts[0]!.cookies();
    const session = cookies.find((c) => c.name === 'ts_ui_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    expect(await alice.evaluate('document.cookie')).not.toContain('ts_ui_session');
    expect(alice.url()).not.toContain(session!.value.slice(0, 20));
  });

  it('crossing orders from two accounts update the ladder, the tape and both accounts\u2019 orders and fills', async () => {
    await tab(alice, 'Trading');
    await placeOrder(alice, { side: 'buy', price: '100.00', quantity: '0.01' });
    const aliceRow = alice.locator('table.orders tbody tr[data-order-id]');
    await eventually(() => aliceRow.count()).toBe(1);
    await eventually(() => aliceRow.first().locator('td').nth(4).textContent()).toBe('0.01000');

    // Bob's market view shows Alice's bid as the best bid.
    await tab(bob, 'Market');
    await eventually(() => bob.locator('td.spread').textContent()).toContain('one side is empty'); // no ask yet: no spread
    await eventually(() => bob.locator('table.ladder tbody.bids tr.best td.price').textContent()).toBe('100.00');
    await eventually(() => bob.locator('table.ladder tbody.bids tr.best td.qty .val').textContent()).toBe('0.01000');
    await bob.screenshot({ path: join(UI_RESULTS, 'market-before-trade.png') });

    // Bob rests an ask above, then sells into Alice's bid.
    await tab(bob, 'Trading');
    await placeOrder(bob, { side: 'sell', price: '101.50', quantity: '0.002' });
    await placeOrder(bob, { side: 'sell', price: '100.00', quantity: '0.004', tif: 'IOC' });
    await eventually(() => bob.locator('table.fills tbody tr[data-fill-order]').count()).toBe(1);
    await eventually(() => bob.locator('table.fills tbody tr[data-fill-order] td').nth(5).textContent()).toBe('TAKER');

    // Alice: her order is partly filled (live, from the account stream), and she sees the fill as maker.
    await eventually(() => aliceRow.first().locator('td').nth(4).textContent()).toBe('0.00600');
    await eventually(() => alice.locator('table.fills tbody tr[data-fill-order] td').nth(5).textContent()).toBe('MAKER');
    await eventually(() => alice.locator('table.fills tbody tr[data-fill-order] td').nth(3).textContent()).toBe('100.00');
    await alice.screenshot({ path: join(UI_RESULTS, 'trading.png') });

    // Market: tape shows the trade, ladder the remaining bid, best ask and the spread (101.50 − 100.00).
    await tab(alice, 'Market');
    await eventually(() => alice.locator('table.tape tbody tr[data-trade-id]').count()).toBe(1);
    await eventually(() => alice.locator('table.tape tbody tr[data-trade-id] td').nth(1).textContent()).toBe('100.00');
    await eventually(() => alice.locator('table.tape tbody tr[data-trade-id] td').nth(2).textContent()).toBe('0.00400');
    await eventually(() => alice.locator('table.ladder tbody.bids tr.best td.qty .val').textContent()).toBe('0.00600');
    await eventually(() => alice.getByTestId('best-ask').textContent()).toBe('101.50');
    await eventually(() => alice.getByTestId('spread').textContent()).toBe('1.50');
    await alice.screenshot({ path: join(UI_RESULTS, 'market.png') });
  });

  it('a bad price shows the service\u2019s reason at the price field and places nothing', async () => {
    await tab(alice, 'Trading');
    const before = await alice.locator('table.orders tbody tr[data-order-id]').count();
    await placeOrder(alice, { side: 'buy', price: '100.001', quantity: '0.01' });
    const form = alice.getByRole('form', { name: 'Place an order' });
    await eventually(() => form.locator('#err-price').textContent()).toContain('not a multiple of the tick size 0.01');
    expect(await form.getByLabel(/^Price/).getAttribute('aria-invalid')).toBe('true');
    expect(await alice.locator('table.orders tbody tr[data-order-id]').count()).toBe(before);
    await alice.screenshot({ path: join(UI_RESULTS, 'trading-field-error.png') });
  });

  it('replace and cancel an own order from the open-orders table', async () => {
    const row = alice.locator('table.orders tbody tr[data-order-id]').first();
    const id = await row.getAttribute('data-order-id');
    await alice.getByRole('button', { name: `Replace order ${id}` }).click();
    await alice.getByLabel('New price').fill('99.50');
    await alice.getByRole('button', { name: 'Send replace' }).click();
    await eventually(() => row.locator('td').nth(3).textContent()).toBe('99.50');
    await tab(bob, 'Market');
    await eventually(() => bob.locator('table.ladder tbody.bids tr.best td.price').textContent()).toBe('99.50');
    await alice.getByRole('button', { name: `Cancel order ${id}` }).click();
    await eventually(() => alice.locator('table.orders tbody tr[data-order-id]').count()).toBe(0);
    await eventually(() => bob.locator('table.ladder tbody.bids tr').first().textContent()).toBe('no bids');
  });

  it('operations: set a pair\u2019s percentage and see it', async () => {
    const ops = await newPage();
    await ops.goto(`${base}/ui/#operations`);
    const row = ops.locator('table.migration tr[data-pair="BTCUSDT"]');
    await row.getByLabel('Adaptive percentage for BTCUSDT').fill('25');
    await row.getByRole('button', { name: 'Set the percentage of BTCUSDT' }).click();
    await eventually(() => ops.getByTestId('pct-BTCUSDT').textContent()).toContain('25 %');
    const status = (await adminGet('/admin/migration/status')) as { pair: string; current_percentage: number }[];
    expect(status.find((s) => s.pair === 'BTCUSDT')?.current_percentage).toBe(25);
    await ops.close();
  });

  it('operations: a chaos fault trips the breaker (open, with its reason); after reset it is closed', async () => {
    const ops = await newPage();
    await ops.goto(`${base}/ui/#operations`);
    const fault = ops.locator('.chaos tr[data-pair="BTCUSDT"]');
    await fault.getByLabel('Fault kind for BTCUSDT').selectOption('throw');
    await fault.getByRole('button', { name: 'Inject the fault into BTCUSDT' }).click();
    // Destructive: a confirmation dialog first (Cancel has the focus).
    const dialog = ops.getByRole('dialog');
    await eventually(() => dialog.isVisible()).toBe(true);
    await dialog.getByRole('button', { name: 'Inject fault' }).click();
    await eventually(async () => (await adminGet('/admin/chaos/fault')).find((f: { pair: string }) => f.pair === 'BTCUSDT').kind).toBe('throw');
    await eventually(() => fault.locator('.pill').textContent()).toBe('throw');

    // A command reaches the adaptive book (25 % served / shadow), which throws: the breaker opens.
    await tab(alice, 'Trading');
    await placeOrder(alice, { side: 'buy', price: '90.00', quantity: '0.01' });
    const breaker = ops.locator('table.breakers tr[data-pair="BTCUSDT"]');
    await eventually(() => breaker.getAttribute('data-state'), { timeout: 15_000 }).toBe('open');
    await eventually(() => breaker.locator('td').nth(2).textContent()).toContain('adaptive_error');
    await eventually(() => ops.locator('ul.history li').first().textContent()).toContain('BTCUSDT open (adaptive_error)');
    await ops.screenshot({ path: join(UI_RESULTS, 'operations-breaker-open.png'), fullPage: true });

    // Clear the fault, reset the breaker from the page: closed again.
    await fault.getByLabel('Fault kind for BTCUSDT').selectOption('none');
    await fault.getByRole('button', { name: 'Inject the fault into BTCUSDT' }).click();
    await eventually(() => fault.locator('.pill').textContent()).toBe('none');
    await ops.getByRole('button', { name: 'Reset the breaker of BTCUSDT' }).click();
    await eventually(() => breaker.getAttribute('data-state')).toBe('closed');
    expect((await adminGet('/admin/circuit-breaker/status')).find((b: { pair: string }) => b.pair === 'BTCUSDT').open).toBe(false);
    await eventually(() => ops.locator('ul.history li').first().textContent()).toContain('BTCUSDT reset');
    await ops.screenshot({ path: join(UI_RESULTS, 'operations.png'), fullPage: true });
    await ops.close();
  });

  it('destructive controls ask first: Cancel (or Escape) changes nothing, Confirm rolls the pair back', async () => {
    const ops = await newPage();
    await ops.goto(`${base}/ui/#operations`);
    await eventually(() => ops.getByTestId('pct-BTCUSDT').textContent()).toContain('25 %');
    await ops.getByRole('button', { name: 'Roll back BTCUSDT' }).click();
    const dialog = ops.getByRole('dialog');
    await eventually(() => dialog.isVisible()).toBe(true);
    // Cancel has the focus, so Enter alone does not confirm.
    await eventually(() => ops.evaluate('document.activeElement && document.activeElement.textContent')).toBe('Cancel');
    await ops.keyboard.press('Escape');
    await eventually(() => dialog.isVisible()).toBe(false);
    expect((await adminGet('/admin/migration/status')).find((m: { pair: string }) => m.pair === 'BTCUSDT').current_percentage).toBe(25);
    await ops.getByRole('button', { name: 'Roll back BTCUSDT' }).click();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await adminGet('/admin/migration/status')).find((m: { pair: string }) => m.pair === 'BTCUSDT').current_percentage).toBe(25);
    await ops.getByRole('button', { name: 'Roll back BTCUSDT' }).click();
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    await eventually(() => ops.getByTestId('pct-BTCUSDT').textContent()).toContain('0 %');
    expect((await adminGet('/admin/migration/status')).find((m: { pair: string }) => m.pair === 'BTCUSDT').current_percentage).toBe(0);
    await ops.close();
  });

  it('keyboard: the view tabs move with the arrow keys, and an order can be placed without a mouse', async () => {
    await alice.goto(`${base}/ui/#market`);
    await alice.getByRole('tab', { name: 'Market' }).focus();
    await alice.keyboard.press('ArrowRight');
    await eventually(() => alice.getByRole('tab', { name: 'Trading' }).getAttribute('aria-selected')).toBe('true');
    await eventually(() => alice.evaluate('document.activeElement && document.activeElement.textContent')).toBe('Trading');
    const form = alice.getByRole('form', { name: 'Place an order' });
    await form.getByLabel(/^Price/).focus();
    await alice.keyboard.type('95.00');
    await alice.keyboard.press('Tab'); // → Quantity
    await alice.keyboard.type('0.002');
    await alice.keyboard.press('Enter'); // submits the form
    await eventually(() => alice.locator('table.orders tbody tr[data-order-id] td:nth-child(4)').allTextContents()).toContain('95.00');
    // Cancel all of the pair: asks first, then every open BTCUSDT order of alice is gone.
    await alice.getByRole('button', { name: 'Cancel all BTCUSDT' }).click();
    await alice.getByRole('dialog').getByRole('button', { name: 'Cancel all' }).click();
    await eventually(() => alice.locator('table.orders tbody tr[data-order-id]').count()).toBe(0);
  });

  it('under a bounded order loop the page keeps up and ends on exactly the engine\u2019s book (figures printed)', async () => {
    const page = await newPage();
    await page.goto(`${base}/ui/#market`);
    await eventually(() => page.getByTestId('live-status').textContent()).toContain('live');
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const heapMiB = async (): Promise<number> => {
      await cdp.send('HeapProfiler.collectGarbage');
      const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
      return Math.round((metrics.find((m) => m.name === 'JSHeapUsedSize')!.value / 1024 / 1024) * 100) / 100;
    };
    type PageStats = { bookUpdates: number; deltaEvents: number; frames: number; snapshots: number; sequence: number };
    const stats = (): Promise<PageStats> => page.evaluate('({ ...window.__tradingUi.store.stats, sequence: window.__tradingUi.store.sequence })') as Promise<PageStats>;
    const heapBefore = await heapMiB();
    const before = await stats();

    // Two accounts on OrderFlow streams, 100 orders per message every 25 ms (≈ 4,000 orders/s offered)
    // for at most 8 s: limit orders around 100.00 on both sides, so the book churns and trades.
    const flows: ClientDuplexStream<OrderFlowRequest, OrderFlowResponse>[] = [];
    const client = new OrdersServiceClient(grpcAddress, credentials.createInsecure());
    let answered = 0;
    for (const account of ['loader-a', 'loader-b']) {
      const { token } = await loginAt(grpcAddress, keys[account]!);
      const md = new Metadata();
      md.set('authorization', `Bearer ${token}`);
      const flow = client.orderFlow(md);
      flow.on('data', (r: OrderFlowResponse) => (answered += r.messages.filter((m) => m.message?.$case === 'result').length));
      flow.on('error', () => {});
      flows.push(flow);
    }
    const MESSAGES = 320;
    const startedAt = Date.now();
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    let sent = 0;
    let heapMid: number | undefined; // halfway: the page's rings are full by then, so later growth would be a leak
    for (let m = 0; m < MESSAGES && Date.now() - startedAt < 8_000; m++) {
      if (heapMid === undefined && Date.now() - startedAt >= 4_000) heapMid = await heapMiB();
      const commands = Array.from({ length: 100 }, (_, i) => {
        const side = rand() < 0.5 ? Side.SIDE_BUY : Side.SIDE_SELL;
        const offset = Math.floor(rand() * 200) - (side === Side.SIDE_BUY ? 150 : 50); // bids mostly below 100, asks above
        const price = (10_000 + offset) / 100;
        return { correlationId: `${m}-${i}`, command: { $case: 'submit' as const, value: { pair: PAIR, clientOrderId: '', side, type: OrderType.ORDER_TYPE_LIMIT, timeInForce: TimeInForce.TIME_IN_FORCE_GTC, price: price.toFixed(2), quantity: '0.001', postOnly: false, stpMode: 0 } } };
      });
      flows[m % 2]!.write({ commands });
      sent += commands.length;
      await new Promise((r) => setTimeout(r, 25));
    }
    const sentMs = Date.now() - startedAt;
    const engineSequence = () => service.pairs.get(PAIR)!.snapshot(1).sequence;
    await eventually(() => answered, { timeout: 60_000 }).toBe(sent);
    // The page catches up to exactly the engine's sequence…
    await eventually(async () => (await stats()).sequence, { timeout: 30_000 }).toBe(engineSequence());
    const elapsedMs = Date.now() - startedAt;
    const after = await stats();
    // …and, once the next animation frame has drawn it, shows exactly the engine's top 15 levels per side.
    const snap = service.pairs.get(PAIR)!.snapshot(15);
    const priceText = (t: number) => (t / 100).toFixed(2); // BTCUSDT tick 0.01: display check only
    await eventually(() => page.locator('table.ladder tbody.bids tr td.price').allTextContents()).toEqual(snap.bids.map((l) => priceText(l.price)));
    await eventually(() => page.locator('table.ladder tbody.asks tr td.price').allTextContents()).toEqual(snap.asks.map((l) => priceText(l.price)).reverse());
    await eventually(() => page.locator('table.ladder tbody.bids tr td.count').allTextContents()).toEqual(snap.bids.map((l) => String(l.orderCount)));
    const heapAfter = await heapMiB();
    await page.screenshot({ path: join(UI_RESULTS, 'market-under-load.png') });
    for (const f of flows) f.end();
    client.close();

    const seconds = elapsedMs / 1000;
    const figures = {
      at: new Date().toISOString(),
      loadavg: (await import('node:os')).loadavg().map((x) => Math.round(x * 100) / 100),
      orders_sent: sent,
      send_window_ms: sentMs,
      measured_window_ms: elapsedMs,
      engine_book_updates: after.sequence - before.sequence,
      engine_book_updates_per_sec: Math.round((after.sequence - before.sequence) / (sentMs / 1000)),
      page_book_updates_applied: after.bookUpdates - before.bookUpdates,
      page_sse_delta_frames: after.deltaEvents - before.deltaEvents,
      page_sse_delta_frames_per_sec: Math.round((after.deltaEvents - before.deltaEvents) / seconds),
      page_rendered_frames: after.frames - before.frames,
      page_rendered_frames_per_sec: Math.round((after.frames - before.frames) / seconds),
      page_snapshots_during_run: after.snapshots - before.snapshots,
      page_final_sequence_equals_engine: after.sequence === engineSequence(),
      js_heap_used_mib_before: heapBefore,
      js_heap_used_mib_halfway: heapMid ?? null,
      js_heap_used_mib_after: heapAfter,
    };
    console.log('Trading UI under load:', JSON.stringify(figures, null, 2));
    writeFileSync(join(UI_RESULTS, 'ui-load.json'), `${JSON.stringify(figures, null, 2)}\n`);
    // Every engine update reached the page (coalesced, none lost) without a resubscribe.
    expect(after.bookUpdates - before.bookUpdates).toBe(after.sequence - before.sequence);
    expect(after.snapshots - before.snapshots).toBe(0);
    await page.close();
  }, 180_000);

  it('operations: start a ramp, stop all ramps (frozen), complete a pair — each shown in the migration table', async () => {
    const ops = await newPage();
    await ops.goto(`${base}/ui/#operations`);
    const row = ops.locator('table.migration tr[data-pair="ETHUSDT"]');
    await row.getByRole('button', { name: 'Start the ramp of ETHUSDT' }).click();
    await eventually(() => row.locator('td').nth(3).textContent()).toContain('running · step 1/5');
    await eventually(() => ops.getByTestId('pct-ETHUSDT').textContent()).toContain('1 %');
    await ops.getByRole('button', { name: 'Stop all ramps' }).click();
    await ops.getByRole('dialog').getByRole('button', { name: 'Stop all ramps' }).click();
    await eventually(() => row.locator('td').nth(3).textContent()).toContain('frozen');
    // Completing below 100 % is refused: the page shows the service's reason.
    await ops.getByRole('button', { name: 'Complete the migration of ETHUSDT' }).click();
    await ops.getByRole('dialog').getByRole('button', { name: 'Complete' }).click();
    await eventually(() => ops.getByTestId('ops-message').textContent()).toContain('only a pair at full (100 %) can be completed');
    const pctInput = row.getByLabel('Adaptive percentage for ETHUSDT');
    await pctInput.fill('100');
    await eventually(() => pctInput.inputValue()).toBe('100'); // typed, and not replaced by a live update before the click
    await row.getByRole('button', { name: 'Set the percentage of ETHUSDT' }).click();
    // The state with the page's last message beside it, so a refusal shows in the failure.
    await eventually(async () => `${await row.locator('td').nth(1).textContent()} | ${await ops.getByTestId('ops-message').textContent({ timeout: 1000 }).catch(() => '')}`).toMatch(/^full \|/);
    await ops.getByRole('button', { name: 'Complete the migration of ETHUSDT' }).click();
    await ops.getByRole('dialog').getByRole('button', { name: 'Complete' }).click();
    await eventually(() => row.locator('td').nth(1).textContent()).toBe('completed');
    await eventually(() => ops.getByTestId('pct-ETHUSDT').textContent()).toContain('100 %');
    const eth = ((await adminGet('/admin/migration/status')) as { pair: string; state: string; current_percentage: number }[]).find((m) => m.pair === 'ETHUSDT')!;
    expect([eth.state, eth.current_percentage]).toEqual(['completed', 100]);
    await ops.close();
  });

  it('emergency stop (halt, every migrating pair to 0 %, all breakers open) and emergency resume, each after a confirmation', async () => {
    const ops = await newPage();
    await ops.goto(`${base}/ui/#operations`);
    await ops.getByRole('button', { name: 'Emergency stop' }).click();
    await ops.getByRole('dialog').getByRole('button', { name: 'Emergency stop' }).click();
    await eventually(() => ops.getByTestId('ops-message').textContent()).toContain('EMERGENCY STOP');
    expect((await adminGet('/admin/trading/status')).halted.on).toBe(true);
    expect(((await adminGet('/admin/circuit-breaker/status')) as { open: boolean }[]).every((b) => b.open)).toBe(true);
    // Every migrating pair is back on the legacy book (a completed pair has no legacy book to go back to).
    const migrating = ((await adminGet('/admin/migration/status')) as { pair: string; state: string; current_percentage: number }[]).filter((m) => m.state !== 'completed');
    expect(migrating.map((m) => [m.pair, m.current_percentage])).toEqual(migrating.map((m) => [m.pair, 0]));
    await eventually(() => ops.locator('h2 .pill.bad').first().textContent()).toContain('new orders refused (halted)');
    await ops.screenshot({ path: join(UI_RESULTS, 'operations-emergency-stop.png'), fullPage: true });
    await ops.getByRole('button', { name: 'Emergency resume' }).click();
    await ops.getByRole('dialog').getByRole('button', { name: 'Resume' }).click();
    await eventually(async () => (await adminGet('/admin/trading/status')).halted.on).toBe(false);
    await eventually(async () => ((await adminGet('/admin/circuit-breaker/status')) as { open: boolean }[]).some((b) => b.open)).toBe(false);
    await eventually(() => ops.locator('table.breakers tr[data-state="open"]').count()).toBe(0);
    await ops.close();
  });
});
