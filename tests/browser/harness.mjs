// Shared helpers for the browser tests: start a Spikard server binary on an ephemeral loopback
// port and drive Debian's headless Chromium through playwright-core. Both clean up on any exit.
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.SPK_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-dev-shm-usage'];

// Runs `fn(baseUrl)` against a server started from `binary` (default: the example app) with
// `--port 0`; the server prints "... listening on http://HOST:PORT" on stdout.
export async function withServer(fn, { binary = process.env.SPK_EXAMPLE, args = [] } = {}) {
  if (!binary) throw new Error('SPK_EXAMPLE is not set (run through ctest)');
  const proc = spawn(binary, ['--host', '127.0.0.1', '--port', '0', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  try {
    const base = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('server did not start: ' + stderr)), 10000);
      proc.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/http:\/\/[\d.]+:\d+/);
        if (m) { clearTimeout(timer); resolve(m[0]); }
      });
      proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${stderr}`)); });
    });
    return await fn(base);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const t = setTimeout(() => { proc.kill('SIGKILL'); resolve(); }, 5000);
      proc.on('exit', () => { clearTimeout(t); resolve(); });
    });
  }
}

// Rejects with a message naming `what` when `promise` takes longer than `ms`.
export function bounded(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

// Runs `fn(page)` with a fresh headless Chromium page. Chromium runs as a browser server we hold
// the process of, so a browser wedged by a loaded machine is killed instead of outliving the
// test (page.evaluate and browser.close have no timeout of their own).
export async function withBrowser(fn) {
  const server = await chromium.launchServer({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30000 });
  try {
    const browser = await bounded(chromium.connect(server.wsEndpoint(), { timeout: 30000 }), 30000, 'connecting to Chromium');
    const page = await bounded(browser.newPage(), 30000, 'opening a page');
    page.setDefaultTimeout(10000);
    return await fn(page);
  } finally {
    await bounded(server.close(), 10000, 'closing Chromium').catch(() => server.kill());
  }
}
