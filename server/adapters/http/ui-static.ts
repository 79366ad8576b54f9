/**
 * The Trading UI's built files (ui/dist, made by `npm run build:ui`), served at `/ui/` on the admin
 * listener. Vite builds them flat (no sub-folders), so one admin prefix route with one path parameter
 * serves them all; a name is looked up in the directory listing read once, never joined into a path
 * from the request. The files are public like /health: they hold no data; every data endpoint behind
 * them follows the admin API's access rules (loopback, or ADMIN_TOKEN beyond it).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { AdminResponse, Route } from './admin-server.ts';

/** The page may load only its own scripts and styles and talk only to this listener. */
export const UI_CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** Largest file kept in memory; the build's files are a few hundred KiB. */
const MAX_FILE_BYTES = 8 * 1024 * 1024;

export interface UiStaticOptions {
  /** The built UI (ui/dist). */
  distDir: string;
}

interface Loaded {
  files: Map<string, Buffer>;
  error?: string;
}

/** Reads ui/dist once (a missing build answers 503 with the command that makes it). */
function load(distDir: string): Loaded {
  const files = new Map<string, Buffer>();
  let names: string[];
  try {
    names = readdirSync(distDir);
  } catch {
    return { files, error: `the Trading UI is not built (${distDir} is missing): run \`npm run build:ui\` and restart` };
  }
  for (const name of names) {
    const path = join(distDir, name);
    const st = statSync(path);
    if (!st.isFile() || st.size > MAX_FILE_BYTES || CONTENT_TYPES[extname(name)] === undefined) continue;
    files.set(name, readFileSync(path));
  }
  if (!files.has('index.html')) return { files, error: `the Trading UI build in ${distDir} has no index.html: run \`npm run build:ui\`` };
  return { files };
}

export function uiStaticRoutes(options: UiStaticOptions): Route[] {
  let loaded: Loaded | undefined;
  const files = (): Loaded => {
    // A failed load is retried on the next request, so building after start works without a restart.
    if (loaded === undefined || loaded.error !== undefined) loaded = load(options.distDir);
    return loaded;
  };
  const serve = (name: string): AdminResponse => {
    const l = files();
    if (l.error !== undefined) return { status: 503, text: `${l.error}\n` };
    const bytes = l.files.get(name);
    if (bytes === undefined) return { status: 404, text: `no such Trading UI file: ${name.slice(0, 64)}\n` };
    return {
      status: 200,
      bytes,
      contentType: CONTENT_TYPES[extname(name)]!,
      headers: {
        'content-security-policy': UI_CONTENT_SECURITY_POLICY,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
      },
    };
  };
  return [
    { method: 'GET', path: '/ui', public: true, handle: () => serve('index.html') },
    { method: 'GET', path: '/ui/', public: true, handle: ({ param }) => serve(param) },
  ];
}
