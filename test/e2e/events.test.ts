/**
 * The events feed and a node's recent events against the real lab. kwok runs no kubelet, so it
 * writes no pod or node events; the Warning here is posted with kubectl as a core/v1 Event, the
 * way a controller's event recorder writes one (involvedObject, reason, source, count,
 * first/last timestamp). The derived "node not ready" comes from kube-controller-manager marking
 * a kwok node Unknown once kwok stops renewing its Lease. Checked against kubectl.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TestKeyring } from '../lab/keyring.ts';
import { Lab } from '../lab/lab.ts';
import { type BrowserApp, buildApp, openAppInChromium, tearDownE2e, until } from './app-harness.ts';
import { seedFleet, serviceAccountKubeconfig } from './fleet-lab.ts';
import { importAndOpen, viewButton } from './ui-steps.ts';

const shot = (name: string) => page.screenshot({ path: `/tmp/edgefleet-e2e-${name}.png`, fullPage: false });

let dir = '';
let lab: Lab | undefined;
let keyring: TestKeyring | undefined;
let app: BrowserApp | undefined;
let browser: Browser | undefined;
let page: Page;

const kubectl = (args: string[], input?: string) =>
  (lab as Lab).cluster.kubectl(args, input === undefined ? {} : { input });
const kubectlJson = <T>(args: string[]) => (lab as Lab).cluster.kubectlJson<T>(args);

/** Seconds precision, as Kubernetes writes event timestamps. */
const nowIso = () => `${new Date().toISOString().slice(0, 19)}Z`;

/** A core/v1 Event as client-go's event recorder writes it for a node. */
function nodeEvent(name: string, node: string, type: 'Warning' | 'Normal', reason: string, message: string) {
  const at = nowIso();
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: 'default' },
    involvedObject: { apiVersion: 'v1', kind: 'Node', name: node, uid: node },
    type,
    reason,
    message,
    source: { component: 'e2e-disk-monitor', host: node },
    count: 1,
    firstTimestamp: at,
    lastTimestamp: at,
  });
}

const feed = () => page.getByRole('table', { name: 'Events' });
const feedRow = (reason: string, object?: string): Locator => {
  const rows = feed()
    .getByRole('row')
    .filter({ has: page.locator('td[data-col=reason]', { hasText: new RegExp(`^${reason}$`) }) });
  return object ? rows.filter({ has: page.getByRole('rowheader', { name: object, exact: true }) }) : rows;
};
/** Open WATCH requests on events, from kube-apiserver's own gauge: evidence of what the app opened and closed. */
async function eventWatches(): Promise<number> {
  const metrics = await kubectl(['get', '--raw', '/metrics']);
  let n = 0;
  for (const line of metrics.split('\n'))
    if (
      line.startsWith('apiserver_longrunning_requests{') &&
      line.includes('resource="events"') &&
      line.includes('verb="WATCH"')
    )
      n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

const noReload = () =>
  page.evaluate(() => {
    (window as unknown as { __noReload: boolean }).__noReload = true;
  });
const stillNoReload = () =>
  expect(page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).resolves.toBe(true);

beforeAll(async () => {
  buildApp();
  dir = await mkdtemp(join(tmpdir(), 'ef-e2e-events-'));
  keyring = await TestKeyring.start();
  lab = await Lab.start({ kwokNodes: 1 });
  await seedFleet(lab, ['north']);
  ({ app, browser, page } = await openAppInChromium(dir, keyring));
}, 600_000);

afterAll(async () => {
  await tearDownE2e({ browser, app, lab, keyring, dir });
});

describe('events', () => {
  const errors: string[] = [];

  test('a Warning event appears in the feed (a Normal one does not), updates and goes away without a reload', async () => {
    page.on('pageerror', (e) => errors.push(e.message));
    await importAndOpen(page, (lab as Lab).cluster.kubeconfigPath, 'lab');
    await viewButton(page, 'Events').click();
    await page.getByRole('heading', { name: 'Events' }).waitFor();
    await noReload();

    // The Normal event goes first: once the later Warning is on screen, the Normal one would be too if it were streamed.
    await kubectl(
      ['create', '-f', '-'],
      nodeEvent('north-0.e2e-normal', 'north-0', 'Normal', 'DiskChecked', 'disk ok'),
    );
    await kubectl(
      ['create', '-f', '-'],
      nodeEvent(
        'north-0.e2e-1',
        'north-0',
        'Warning',
        'DiskAlmostFull',
        'disk /var/lib/edgefleet is 97% full',
      ),
    );
    const row = feedRow('DiskAlmostFull', 'Node north-0');
    await row.waitFor({ timeout: 30_000 });
    await expect(row.locator('td[data-col=message]').textContent()).resolves.toBe(
      'disk /var/lib/edgefleet is 97% full',
    );
    await expect(row.locator('td[data-col=source]').textContent()).resolves.toBe(
      'e2e-disk-monitor on north-0',
    );
    await expect(row.locator('td[data-col=type]').textContent()).resolves.toBe('Warning');
    await expect(feedRow('DiskChecked').count()).resolves.toBe(0);
    const listed = await kubectlJson<{ items: { reason: string }[] }>([
      'get',
      'events',
      '-A',
      '--field-selector',
      'type=Warning',
    ]);
    expect(listed.items.map((e) => e.reason)).toContain('DiskAlmostFull');
    await shot('events');

    // The recorder saw it again: count and last time move on the same object.
    await kubectl([
      'patch',
      'event',
      'north-0.e2e-1',
      '--type=merge',
      '-p',
      JSON.stringify({ count: 5, lastTimestamp: nowIso() }),
    ]);
    await until('the count to become 5', 30_000, async () =>
      (await row.locator('td[data-col=count]').textContent()) === '5' ? true : undefined,
    );

    // Filters: the text search finds it; the "Seen by EdgeFleet" origin hides it.
    await page.getByLabel('Search events').fill('97%');
    await expect(feedRow('DiskAlmostFull').count()).resolves.toBe(1);
    await page.getByLabel('Origin').selectOption('Derived');
    await until('the Warning to be filtered out', 15_000, async () =>
      (await feedRow('DiskAlmostFull').count()) === 0 ? true : undefined,
    );
    await page.getByLabel('Origin').selectOption('all');
    await page.getByLabel('Search events').fill('');

    // A new one appears, the deleted one goes.
    await kubectl(
      ['create', '-f', '-'],
      nodeEvent('north-0.e2e-2', 'north-0', 'Warning', 'DiskFull', 'disk /var/lib/edgefleet is full'),
    );
    await feedRow('DiskFull', 'Node north-0').waitFor({ timeout: 30_000 });
    await kubectl(['delete', 'event', 'north-0.e2e-1']);
    await until('the deleted event to leave the feed', 30_000, async () =>
      (await feedRow('DiskAlmostFull').count()) === 0 ? true : undefined,
    );
    await stillNoReload();
  });

  test('the node page shows the node’s recent events of every type, opened from the feed row', async () => {
    // The feed's own watch is open; the node page adds one for this node and closes it when it goes.
    const before = await until('the feed watching events', 30_000, async () => {
      const n = await eventWatches();
      return n >= 1 ? n : undefined;
    });
    await feedRow('DiskFull', 'Node north-0').getByRole('button', { name: 'Node north-0' }).click();
    await page.getByRole('heading', { name: 'Node north-0' }).waitFor({ timeout: 15_000 });
    const recent = page.getByRole('table', { name: 'Recent events' });
    await recent.locator('tr[data-event=DiskFull]').waitFor({ timeout: 30_000 });
    // The Normal event, absent from the Warning-only feed, is here: the page asked main for this node's events.
    await recent.locator('tr[data-event=DiskChecked]').waitFor({ timeout: 30_000 });
    await page.getByRole('region', { name: 'Recent events' }).scrollIntoViewIfNeeded();
    await shot('events-node');
    // Still live while the page is open.
    await kubectl(
      ['create', '-f', '-'],
      nodeEvent('north-0.e2e-3', 'north-0', 'Normal', 'DiskCleaned', 'removed 2 GiB of old images'),
    );
    await recent.locator('tr[data-event=DiskCleaned]').waitFor({ timeout: 30_000 });
    await until('the node page’s events watch to be open', 30_000, async () =>
      (await eventWatches()) === before + 1 ? true : undefined,
    );
    await page.getByRole('button', { name: '← Back' }).click();
    await until('the node page’s events watch to be closed', 30_000, async () =>
      (await eventWatches()) === before ? true : undefined,
    );
    await stillNoReload();
  });

  test('a kwok node whose Ready goes Unknown gives derived "not ready" and "pool degraded" events, then "ready again"', async () => {
    await viewButton(page, 'Events').click();
    await (lab as Lab).kwok?.stopHeartbeat('north-1');
    type NodeJson = { status: { conditions: { type: string; status: string }[] } };
    const ready = async () =>
      (await kubectlJson<NodeJson>(['get', 'node', 'north-1'])).status.conditions.find(
        (c) => c.type === 'Ready',
      )?.status;
    await until('kube-controller-manager to mark north-1 not ready', 120_000, async () =>
      (await ready()) !== 'True' ? true : undefined,
    );
    await page.getByLabel('Origin').selectOption('Derived');
    const down = feedRow('NodeNotReady', 'Node north-1');
    await down.waitFor({ timeout: 60_000 });
    await expect(down.locator('td[data-col=type]').textContent()).resolves.toBe('Seen by EdgeFleet');
    await feedRow('PoolDegraded', 'NodePool north').waitFor({ timeout: 30_000 });
    await expect(feedRow('PoolDegraded').locator('td[data-col=message]').textContent()).resolves.toBe(
      'Pool north: 1 of 2 nodes not ready.',
    );
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    await shot('events-dark');
    await page.getByRole('button', { name: 'Switch to light theme' }).click();

    await (lab as Lab).kwok?.resumeHeartbeat('north-1');
    await until('north-1 ready again (kubectl)', 120_000, async () =>
      (await ready()) === 'True' ? true : undefined,
    );
    await feedRow('NodeReady', 'Node north-1').waitFor({ timeout: 60_000 });
    await feedRow('PoolReady', 'NodePool north').waitFor({ timeout: 30_000 });
    await stillNoReload();
    expect(errors).toEqual([]);
  });

  test('a user who may not list events is told so, with the rule to ask for, in the feed and on the node page', async () => {
    const read = ['get', 'list', 'watch'];
    const path = await serviceAccountKubeconfig(lab as Lab, dir, 'ui-no-events', [
      { apiGroups: [''], resources: ['nodes', 'pods', 'services'], verbs: read },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: read },
      { apiGroups: ['apps.openyurt.io'], resources: ['nodepools', 'yurtappsets'], verbs: read },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: read },
    ]);
    // kubectl agrees: this account may not list events.
    await expect(
      kubectl(['get', 'events', '-A', '--as=system:serviceaccount:default:ui-no-events']),
    ).rejects.toThrow(/forbidden/i);
    await importAndOpen(page, path, 'no-events');
    await viewButton(page, 'Events').click();
    const notice = page.getByRole('alert').filter({ hasText: 'Your account may not list events' });
    await notice.waitFor({ timeout: 30_000 });
    await expect(notice.textContent()).resolves.toContain('resources ["events"], verbs ["list", "watch"]');
    await shot('events-forbidden');

    await viewButton(page, 'Nodes').click();
    await page.getByRole('button', { name: 'north-0', exact: true }).click();
    await page
      .getByRole('region', { name: 'Recent events' })
      .getByRole('alert')
      .filter({ hasText: 'Your account may not list events' })
      .waitFor({ timeout: 30_000 });
    expect(errors).toEqual([]);
  });
});
