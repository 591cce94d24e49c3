import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Browser, chromium } from 'playwright';
import { type BrowserHost, startBrowserHost } from '../../src-main/browser-host/server.ts';

// The app's UI in a real browser: Debian's Chromium driven by Playwright against the browser
// host, which is how `npm start` serves the app where Electron's binary is missing.
const CHROMIUM = process.env.EDGEFLEET_CHROMIUM ?? '/usr/bin/chromium';

let host: BrowserHost;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium`);
  const build = spawnSync('npx', ['electron-vite', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('electron-vite build failed');
  host = await startBrowserHost({ rendererDir: 'out/renderer' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await host?.close();
});

test('the app shell renders in Chromium through the browser host', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(host.url);
  await expect(page.getByRole('heading', { name: 'EdgeFleet' }).isVisible()).resolves.toBe(true);
  expect(await page.getByTestId('shell-status').textContent()).toContain('No clusters yet');
  expect(errors).toEqual([]);
});

test('the browser host serves nothing outside the renderer build', async () => {
  const base = host.url.split('#')[0] ?? '';
  const res = await fetch(new URL('/..%2f..%2fpackage.json', base));
  expect([403, 404]).toContain(res.status);
});
