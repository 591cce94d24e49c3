/**
 * The node report in the app (issue 12): a real hub (in this process, with its node certificate)
 * publishes `edgefleet.io/node-report` on its Node in the lab; the app shows it on the node page
 * and flags it in the node table. The hub's cache quota is set to 1 byte, so its cache is over
 * quota from the first write: the "filling cache" the overview must flag. A kwok node (no hub)
 * shows that it has no report, and a hand-broken annotation shows as unreadable. Checked against
 * the annotation as kubectl reads it.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ANNOTATION_NODE_REPORT, parseNodeReport } from '../../src-agent/api/node-report.ts';
import { Hub } from '../../src-agent/hub/hub.ts';
import { MemoryLogger } from '../../src-agent/hub/log.ts';
import { bytesText } from '../../src-renderer/model/node-report.ts';
import { loopbackHubConfig } from '../lab/hub-support.ts';
import { TestKeyring } from '../lab/keyring.ts';
import { Lab } from '../lab/lab.ts';
import { freePort } from '../lab/proc.ts';
import { type BrowserApp, buildApp, openAppInChromium, tearDownE2e, until } from './app-harness.ts';
import { importAndOpen, viewButton } from './ui-steps.ts';

const NODE = 'hub-edge-1';
/** The lab's kwok node (Lab.start({ kwokNodes: 1 })): no hub runs there. */
const KWOK = 'kwok-node-0';

let dir = '';
let lab: Lab | undefined;
let keyring: TestKeyring | undefined;
let app: BrowserApp | undefined;
let browser: Browser | undefined;
let page: Page;
let hub: Hub | undefined;
let certFile = '';

const kubectl = (args: string[], input?: string) =>
  (lab as Lab).cluster.kubectl(args, input === undefined ? {} : { input });

async function annotation(name: string): Promise<string | undefined> {
  const n = await (lab as Lab).cluster.kubectlJson<{ metadata: { annotations?: Record<string, string> } }>([
    'get',
    'node',
    name,
  ]);
  return n.metadata.annotations?.[ANNOTATION_NODE_REPORT];
}

const rowOf = (name: string): Locator =>
  page
    .getByRole('table', { name: 'Nodes' })
    .getByRole('row')
    .filter({ has: page.getByRole('rowheader', { name, exact: true }) });
const field = (name: string) =>
  page.getByRole('region', { name: 'Hub report' }).locator(`[data-field=${name}]`);

async function openNodePage(name: string): Promise<void> {
  await viewButton(page, 'Nodes').click();
  await rowOf(name).getByRole('button', { name }).click();
  await page.getByRole('heading', { name: `Node ${name}` }).waitFor();
}

beforeAll(async () => {
  buildApp();
  dir = await mkdtemp(join(tmpdir(), 'ef-e2e-report-'));
  keyring = await TestKeyring.start();
  lab = await Lab.start({ kwokNodes: 1 });
  const cluster = lab.cluster;
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } }),
  );
  const cert = await cluster.pki.issueClientCert(NODE, `system:node:${NODE}`, ['system:nodes']);
  certFile = cert.cert;
  const config = await loopbackHubConfig({
    nodeName: NODE,
    server: cluster.apiServerUrl,
    cert,
    caFile: cluster.caCertPath,
    dir,
    extra: {
      cacheQuotaBytes: 1,
      tunnelAgent: { admin: `127.0.0.1:${await freePort()}`, configFile: join(dir, 'no-tunnel-agent.yaml') },
    },
  });
  hub = await Hub.start(config, { log: new MemoryLogger(), nodeReportMinIntervalMs: 1_000 });
  ({ app, browser, page } = await openAppInChromium(dir, keyring));
}, 600_000);

afterAll(async () => {
  await hub?.close();
  await tearDownE2e({ browser, app, lab, keyring, dir });
});

describe('node report', () => {
  test("the node page shows the hub's report as the annotation says; the node table flags its cache", async () => {
    // The hub's first write may come before it has cached anything (0 bytes is within a 1-byte
    // quota); its ticks are the test's here (heartbeat 3600 s), so tick until it reports the cache over.
    const r = await until('the hub to report its cache over quota', 30_000, async () => {
      await hub?.nodeReport.tick();
      const x = parseNodeReport(await annotation(NODE));
      return x && !('error' in x) && x.cache.health === 'CacheOverQuota' ? x : undefined;
    });

    await importAndOpen(page, (lab as Lab).cluster.kubeconfigPath, 'lab');
    await viewButton(page, 'Nodes').click();
    const hubCell = rowOf(NODE).locator('td[data-col=hub]');
    await hubCell.waitFor({ timeout: 30_000 });
    // Over a 1-byte quota: the cache's state, and the quota as used up (the rule the alerts use).
    const hubText = (await hubCell.textContent()) ?? '';
    expect(hubText).toContain('cache CacheOverQuota');
    expect(hubText).toContain('cache quota 100 % used');
    await expect(rowOf(KWOK).locator('td[data-col=hub]').textContent()).resolves.toBe('—');

    await openNodePage(NODE);
    await expect(field('report-version').textContent()).resolves.toBe(r.agentVersion);
    const cache = (await field('report-cache').textContent()) ?? '';
    expect(cache).toContain('CacheOverQuota');
    expect(cache).toContain(`${bytesText(r.cache.bytes)} of a 1 B quota`);
    expect(cache).toContain('over its quota of 1 bytes');
    await expect(field('report-disk').textContent()).resolves.toBe(
      `${bytesText(r.disk.freeBytes)} of ${bytesText(r.disk.totalBytes)} (${Math.round((100 * r.disk.freeBytes) / r.disk.totalBytes)} %)`,
    );
    await expect(field('report-journal').textContent()).resolves.toBe(
      '0 of 1000 offline writes waiting, none dropped',
    );
    await expect(field('report-tunnel').textContent()).resolves.toBe('no tunnel agent on this node');
    const notAfter = new Date(new X509Certificate(readFileSync(certFile)).validTo);
    const days = Math.floor((notAfter.getTime() - Date.now()) / 86_400_000);
    await expect(field('report-cert').textContent()).resolves.toBe(
      `expires ${notAfter.toISOString().slice(0, 10)} (${days} days left)`,
    );
    await expect(field('report-offline').textContent()).resolves.toMatch(/^\d+ s$/);
    await expect(field('report-age').textContent()).resolves.toMatch(/ ago$/);
    await expect(field('report-problems').textContent()).resolves.toBe(
      'cache CacheOverQuota; cache quota 100 % used',
    );
    await page.screenshot({ path: '/tmp/edgefleet-e2e-node-report.png', fullPage: true });
  });

  test('a node without a hub says so; a broken annotation is shown as unreadable', async () => {
    await openNodePage(KWOK);
    const section = page.getByRole('region', { name: 'Hub report' });
    await section.getByText('No report: this node runs no EdgeFleet hub, or an older one.').waitFor();
    await kubectl(['annotate', 'node', KWOK, `${ANNOTATION_NODE_REPORT}={not json`]);
    await section
      .getByText(`The hub report cannot be read: ${ANNOTATION_NODE_REPORT} is not JSON.`)
      .waitFor({ timeout: 30_000 });
    await viewButton(page, 'Nodes').click();
    await expect(rowOf(KWOK).locator('td[data-col=hub]').textContent()).resolves.toBe('unreadable report');
  });
});
