// Shared set-up of the browser tests: a static server for dist/ on a free loopback port and
// Debian's Chromium driven by playwright-core (never a downloaded browser).
import http from 'node:http';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST = path.join(root, 'dist');

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json',
  '.jpg': 'image/jpeg', '.png': 'image/png', '.svg': 'image/svg+xml', '.md': 'text/markdown',
  '.ts': 'text/plain', '.map': 'application/json',
};

/**
 * Serves `dir` (default dist/) on 127.0.0.1 at a free port, optionally under a sub-path;
 * `isolated` adds the COOP/COEP headers that give pages SharedArrayBuffer (threads).
 */
export async function serve(dir = DIST, prefix = '/', { isolated = false } = {}) {
  const extra = isolated
    ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }
    : {};
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.startsWith(prefix)) { res.writeHead(404).end(); return; }
    let rel = decodeURIComponent(url.pathname.slice(prefix.length)) || 'index.html';
    if (rel.endsWith('/')) rel += 'index.html';
    const file = path.join(dir, rel);
    if (!file.startsWith(dir)) { res.writeHead(403).end(); return; }
    try {
      const body = await fs.readFile(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', ...extra });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  const close = () => new Promise((r) => { server.close(r); server.closeAllConnections(); });
  return { url: `http://127.0.0.1:${port}${prefix}`, close };
}

/** Launches headless Chromium; `webgpu: true` exposes SwiftShader's WebGPU adapter. */
export async function launch({ webgpu = false, extraArgs = [] } = {}) {
  const userDataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'convlab-chromium-'));
  const args = [
    '--headless', '--no-sandbox', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ...(webgpu ? ['--enable-unsafe-webgpu'] : []),
    ...extraArgs,
  ];
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args,
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      await fs.rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Opens `url` and collects console errors and page errors. */
export async function open(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  await page.goto(url);
  return { page, errors };
}

/** Waits until the demo has drawn its maps at least `runs` times (or failed). */
export async function demoDone(page, runs = 1, timeout = 120_000) {
  await page.waitForFunction(
    (n) => {
      const s = document.getElementById('run-status');
      return s && Number(s.dataset.runs ?? 0) >= n && s.dataset.state !== 'running';
    },
    runs,
    { timeout },
  );
  return page.evaluate(() => ({ ...document.getElementById('run-status').dataset, text: document.getElementById('run-status').textContent }));
}
