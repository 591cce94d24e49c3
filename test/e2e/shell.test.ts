import { spawnSync } from 'node:child_process';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type BrowserHost, startBrowserHost } from '../../src-main/browser-host/server.ts';
import { launchChromium } from './chromium.ts';

// The app's UI in a real browser: Debian's Chromium driven by Playwright against the browser
// host with no IPC behind it: the shell must still render and say plainly that it has no link.

let host: BrowserHost;
let browser: Browser;

beforeAll(async () => {
  const build = spawnSync('npx', ['electron-vite', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('electron-vite build failed');
  host = await startBrowserHost({ rendererDir: 'out/renderer' });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await host?.close();
});

test('the app shell renders in Chromium and says when it cannot reach EdgeFleet', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(host.url);
  await expect(page.getByRole('heading', { name: 'EdgeFleet' }).isVisible()).resolves.toBe(true);
  await expect(
    page.getByRole('navigation', { name: 'Views' }).getByRole('button').allTextContents(),
  ).resolves.toEqual([
    'Clusters',
    'Node pools',
    'Nodes',
    'Apps',
    'Topology',
    'Events',
    'Alerts',
    'Provisioning',
  ]);
  // No IPC behind this host: the page reports the refusal instead of spinning.
  await page.getByRole('alert').getByText('EdgeFleet refused this page').waitFor({ timeout: 10_000 });
  expect(errors).toEqual([]);
});

test('the browser host sends a strict CSP and serves nothing outside the renderer build', async () => {
  const base = host.url.split('#')[0] ?? '';
  const index = await fetch(base);
  const csp = index.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain(`connect-src ws://${new URL(base).host}`);
  expect(csp).not.toContain('unsafe-inline');
  const res = await fetch(new URL('/..%2f..%2fpackage.json', base));
  expect([403, 404]).toContain(res.status);
});
