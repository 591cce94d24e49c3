/**
 * The per-view error boundary with a component that throws, rendered by the real React DOM in
 * Debian's Chromium (the unit project has no DOM emulation; the boundary is bundled with the
 * same esbuild the build uses). What a user checks: the view says what broke, the navigation
 * next to it still works, main was told, and "Reload this view" brings the view back.
 */
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../test/e2e/chromium.ts';

const ENTRY = `
import { createRoot } from 'react-dom/client';
import { useState } from 'react';
import { ViewBoundaryCore } from './ViewBoundary.tsx';
window.reports = [];
window.breakIt = true;
function Thrower() {
  if (window.breakIt) throw new Error('pods is not iterable');
  return <p>Pods view content</p>;
}
function Shell() {
  const [clicks, setClicks] = useState(0);
  return (
    <>
      <nav aria-label="Views"><button type="button" onClick={() => setClicks(clicks + 1)}>Nodes ({clicks})</button></nav>
      <ViewBoundaryCore view="Pods" onError={(view, e) => window.reports.push(view + ': ' + e.message)}>
        <Thrower />
      </ViewBoundaryCore>
    </>
  );
}
createRoot(document.getElementById('root')).render(<Shell />);
`;

let browser: Browser | undefined;
let page: Page;

beforeAll(async () => {
  const out = await build({
    stdin: {
      contents: ENTRY,
      loader: 'tsx',
      resolveDir: import.meta.dirname,
      sourcefile: 'boundary-entry.tsx',
    },
    bundle: true,
    write: false,
    jsx: 'automatic',
    format: 'iife',
    define: { 'process.env.NODE_ENV': '"development"' },
    logLevel: 'silent',
  });
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('console', () => {}); // React logs the caught error; the test reads the page instead.
  await page.setContent('<div id="root"></div>');
  await page.addScriptTag({ content: out.outputFiles[0]?.text ?? '' });
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

describe('ViewBoundary', () => {
  it('shows what broke, keeps the navigation working, reports to main, and reloads the view', async () => {
    const alert = page.getByRole('alert', { name: 'Pods failed' });
    await alert.waitFor({ timeout: 15_000 });
    await expect(alert.textContent()).resolves.toContain('pods is not iterable');
    await expect(page.evaluate(() => (window as unknown as { reports: string[] }).reports)).resolves.toEqual([
      'Pods: pods is not iterable',
    ]);

    const nav = page.getByRole('navigation', { name: 'Views' }).getByRole('button');
    await nav.click();
    await expect(nav.textContent()).resolves.toBe('Nodes (1)');

    // Still broken: reloading shows the error again (and reports it again).
    await page.getByRole('button', { name: 'Reload this view' }).click();
    await alert.waitFor({ timeout: 15_000 });
    await page.evaluate(() => {
      (window as unknown as { breakIt: boolean }).breakIt = false;
    });
    await page.getByRole('button', { name: 'Reload this view' }).click();
    await page.getByText('Pods view content').waitFor({ timeout: 15_000 });
    await expect(alert.count()).resolves.toBe(0);
    const reports = await page.evaluate(() => (window as unknown as { reports: string[] }).reports);
    expect(reports).toEqual(['Pods: pods is not iterable', 'Pods: pods is not iterable']);
  }, 60_000);
});
