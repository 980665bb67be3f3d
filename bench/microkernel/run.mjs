// Runs each micro-kernel of lib.rs in headless Chromium (the same V8 as the benchmark page) with
// k = 256 and its operands in L1, interleaving the kernels over 11 rounds, and prints the median
// GFLOP/s (2 x multiply-adds) and the ratio to the 6 x 8 block. Run by `make bench-microkernel`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const wasm = fs.readFileSync(path.join(here, 'target/wasm32-unknown-unknown/release/microkernel.wasm'));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-quic', '--no-first-run'] });
try {
  const page = await browser.newPage();
  const rows = await page.evaluate(async (bytes) => {
    const { instance } = await WebAssembly.instantiate(new Uint8Array(bytes));
    const e = /** @type {any} */ (instance.exports);
    e.init(0.001);
    const names = Object.keys(e).filter((n) => n.includes('splat_'));
    const flops = (n) => { const [r, c] = n.split('_')[1].split('x').map(Number); return 2 * r * c; };
    const k = 256, iters = 20000;
    for (const n of names) for (let i = 0; i < 20; i++) e[n](k, 1000); // tier up to TurboFan
    const times = Object.fromEntries(names.map((n) => [n, []]));
    for (let round = 0; round < 11; round++) {
      for (const n of names) {
        const t0 = performance.now();
        e[n](k, iters);
        times[n].push(performance.now() - t0);
      }
    }
    return names.map((n) => ({ n, gflops: (flops(n) * k * iters) / times[n].sort((a, b) => a - b)[5] / 1e6 }));
  }, [...wasm]);
  const base = rows.find((r) => r.n === 'loadsplat_6x8').gflops;
  console.log(`${'micro-kernel'.padEnd(20)} GFLOP/s  vs 6x8`);
  for (const r of rows) console.log(`${r.n.padEnd(20)} ${r.gflops.toFixed(1).padStart(7)}  ${(r.gflops / base).toFixed(2)}x`);
} finally {
  await browser.close();
}
