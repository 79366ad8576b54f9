// Vite build of the Trading UI: `npm run build:ui` → ui/dist, served by the service at /ui/ (server/adapters/http/ui-static.ts).
// Files are emitted flat (assetsDir '') because the admin listener serves one path segment under /ui/.
// JSX is compiled by Vite's own transformer for Preact's automatic runtime: no framework plugin needed.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/ui/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: '',
    sourcemap: false,
    target: 'es2022',
    // No inline data: URLs or inline scripts: the page runs under a strict Content-Security-Policy.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
