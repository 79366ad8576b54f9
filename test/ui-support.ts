// Shared by the Trading UI's browser tests: builds ui/dist when it is missing or older than its sources,
// and launches Debian's Chromium through playwright-core with the flags Chromium needs on a closed network. A missing
// /usr/bin/chromium FAILS (CI installs it: apt-get install chromium), it never skips.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Without the background-networking flags Chromium floods the closed network. */
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const UI_DIR = join(REPO, 'ui');
export const UI_DIST = join(UI_DIR, 'dist');
export const UI_RESULTS = join(UI_DIR, 'results');

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** Runs `vite build ui` unless ui/dist/index.html is newer than every source of the UI. */
export function ensureUiBuilt(): 'built' | 'up to date' {
  const index = join(UI_DIST, 'index.html');
  const sources = Math.max(newestMtime(join(UI_DIR, 'src')), newestMtime(join(UI_DIR, 'index.html')), newestMtime(join(UI_DIR, 'vite.config.ts')));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return 'up to date';
  execFileSync(process.execPath, [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', 'ui', '--logLevel', 'warn'], { cwd: REPO, stdio: 'inherit', timeout: 120_000 });
  return 'built';
}

/**
 * Headless Chromium. playwright-core's launch() gives every run a fresh, empty temporary profile
 * (its own --user-data-dir, removed at close).
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the Trading UI browser tests need Debian's Chromium (apt-get install -y chromium). This test fails rather than skips so CI cannot pass without it.`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 60_000 });
}
