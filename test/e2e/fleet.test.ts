/**
 * The whole app against the real lab: `npm start`'s browser mode (the real composition: vault
 * in a private gnome-keyring, settings in a temp config dir, clusters service, IPC over the
 * authenticated WebSocket) driven in Debian's Chromium. A user imports the lab's kubeconfig,
 * opens the cluster, sees the pools the controller manages, watches a node move pools without
 * reloading, and sees "unreachable" with the data's age when the API server stops.
 */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { LABEL_NODEPOOL } from '../../src-agent/api/labels.ts';
import { WS_PATH, WS_PROTOCOL, WS_TOKEN_PREFIX } from '../../src-main/ipc/ws-protocol.ts';
import { TestKeyring } from '../lab/keyring.ts';
import { KWOK_POD_PLACEMENT } from '../lab/kwok.ts';
import { Lab } from '../lab/lab.ts';
import { BrowserApp, buildApp, tearDownE2e, until } from './app-harness.ts';
import { launchChromium } from './chromium.ts';
import { seedFleet } from './fleet-lab.ts';

const SHOTS = '/tmp';
const POOLS = { north: ['north-0', 'north-1'], south: ['south-0', 'south-1'] } as const;

let dir = '';
let lab: Lab | undefined;
let keyring: TestKeyring | undefined;
let app: BrowserApp | undefined;
let appUrl = '';
let browser: Browser | undefined;
let page: Page;
const frames = { total: 0, withLease: 0 };

const kubectl = (args: string[], input?: string) =>
  (lab as Lab).cluster.kubectl(args, input === undefined ? {} : { input });

/** Ready nodes per pool as kube-apiserver says it: the truth the UI must match. */
async function truth(): Promise<Record<string, { ready: number; members: string[] }>> {
  const list = await (lab as Lab).cluster.kubectlJson<{
    items: {
      metadata: { name: string; labels?: Record<string, string> };
      status?: { conditions?: { type: string; status: string }[] };
    }[];
  }>(['get', 'nodes']);
  const out: Record<string, { ready: number; members: string[] }> = {};
  for (const n of list.items) {
    const pool = n.metadata.labels?.[LABEL_NODEPOOL];
    if (!pool) continue;
    out[pool] ??= { ready: 0, members: [] };
    out[pool].members.push(n.metadata.name);
    if (n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) out[pool].ready++;
  }
  for (const p of Object.values(out)) p.members.sort();
  return out;
}

function poolRow(name: string): Locator {
  return page
    .getByRole('table', { name: 'Node pools' })
    .getByRole('row')
    .filter({ has: page.getByRole('rowheader', { name, exact: true }) });
}

async function poolInUi(name: string): Promise<{ ready: number; members: string[]; reported: string }> {
  const row = poolRow(name);
  const ready = Number(await row.locator('td[data-col=ready]').textContent());
  const members = ((await row.locator('td[data-col=members]').textContent()) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s !== '—')
    .sort();
  const reported = (await row.locator('td[data-col=reported]').textContent()) ?? '';
  return { ready, members, reported };
}

beforeAll(async () => {
  buildApp();
  dir = await mkdtemp(join(tmpdir(), 'ef-e2e-fleet-'));
  keyring = await TestKeyring.start();
  lab = await Lab.start({ kwokNodes: 1 });
  await seedFleet(lab, Object.keys(POOLS));
  app = new BrowserApp(dir, keyring);
  await app.start();
  appUrl = app.url;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // Every message main sends the page, checked for Lease objects (they must stay in main).
  page.on('websocket', (ws) =>
    ws.on('framereceived', (f) => {
      frames.total++;
      if (String(f.payload).includes('"kube-node-lease"') || String(f.payload).includes('"Lease"'))
        frames.withLease++;
    }),
  );
});

afterAll(async () => {
  await tearDownE2e({ browser, app, lab, keyring, dir });
});

describe('the browser host IPC', () => {
  const authority = () => new URL(appUrl).host;
  const token = () => new URL(appUrl).hash.slice('#token='.length);
  /** The HTTP status the handshake got (101 when the socket opened). */
  const handshake = (protocols: string[], origin: string) =>
    new Promise<number>((res, rej) => {
      const ws = new WebSocket(`ws://${authority()}${WS_PATH}`, protocols, { origin });
      ws.once('unexpected-response', (_req, r) => {
        res(r.statusCode ?? 0);
        r.destroy();
      });
      ws.once('open', () => {
        ws.close();
        res(101);
      });
      ws.once('error', rej);
    });

  test('refuses a WebSocket without the token, with a wrong token, or from another origin', async () => {
    const origin = `http://${authority()}`;
    expect(await handshake([WS_PROTOCOL], origin)).toBe(401);
    expect(await handshake([WS_PROTOCOL, `${WS_TOKEN_PREFIX}${token().slice(0, -1)}x`], origin)).toBe(401);
    expect(await handshake([WS_PROTOCOL, `${WS_TOKEN_PREFIX}${token()}`], 'http://evil.example')).toBe(403);
    // The same token from the right origin is accepted: the refusals above were about the token/origin.
    expect(await handshake([WS_PROTOCOL, `${WS_TOKEN_PREFIX}${token()}`], origin)).toBe(101);
  });
});

describe('fleet views against the lab', () => {
  test('import the lab kubeconfig, open the cluster, see pools with ready counts and members', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(appUrl);
    await expect(page.getByRole('heading', { name: 'EdgeFleet' }).isVisible()).resolves.toBe(true);
    // The token left the address bar once the page had it.
    expect(page.url()).not.toContain('token=');
    await page.getByText('Secrets are stored in the OS keychain').waitFor({ timeout: 15_000 });

    await page.getByLabel('Kubeconfig path').fill((lab as Lab).cluster.kubeconfigPath);
    await page.getByLabel('Name (optional)').fill('lab');
    await page.getByRole('button', { name: 'Import' }).click();
    const open = page.getByRole('button', { name: /^Open .* \(imported\)$/ });
    await open.waitFor({ timeout: 15_000 });
    await open.click();

    await expect(page.getByRole('button', { name: 'Node pools' }).getAttribute('aria-current')).resolves.toBe(
      'page',
    );
    await page
      .getByRole('status', { name: 'Cluster connection' })
      .getByText('Connected')
      .waitFor({ timeout: 30_000 });
    // The controller's leader Lease tells the app this cluster runs EdgeFleet.
    await page
      .getByTitle('Edge control plane')
      .getByText('EdgeFleet', { exact: true })
      .waitFor({ timeout: 30_000 });

    const expected = await truth();
    expect(Object.keys(expected).sort()).toEqual(['north', 'south']);
    for (const [pool, t] of Object.entries(expected)) {
      await until(`pool ${pool} in the UI`, 30_000, async () => {
        const ui = await poolInUi(pool);
        return ui.ready === t.ready && ui.members.join() === t.members.join() ? ui : undefined;
      });
      expect(t.members).toEqual([...POOLS[pool as keyof typeof POOLS]].sort());
    }
    expect((await poolInUi('north')).reported).toBe('2 ready, 0 not ready');
    await page.screenshot({ path: join(SHOTS, 'edgefleet-e2e-pools.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  test('node Lease renewals reach the app as heartbeats and re-render no table', async () => {
    await page.getByRole('button', { name: 'Nodes' }).click();
    await page.getByRole('table', { name: 'Nodes' }).getByRole('rowheader', { name: 'north-0' }).waitFor();
    type Counts = Record<string, number>;
    const counts = () =>
      page.evaluate(() => ({ ...(window as unknown as { __edgefleetRenders: Counts }).__edgefleetRenders }));
    const before = await counts();
    // kwok renews every node's Lease every few seconds: wait until the app has seen 5 heartbeats.
    const after = await until('5 heartbeats to arrive', 60_000, async () => {
      const c = await counts();
      return (c['arrived:heartbeats'] ?? 0) - (before['arrived:heartbeats'] ?? 0) >= 5 ? c : undefined;
    });
    // The table did not re-render; a row re-rendered only for a node object that changed.
    expect(after.NodesView).toBe(before.NodesView);
    const nodeChanges = (after['arrived:nodes'] ?? 0) - (before['arrived:nodes'] ?? 0);
    expect((after.NodeRow ?? 0) - (before.NodeRow ?? 0)).toBeLessThanOrEqual(nodeChanges);
    // No Lease object crossed the socket: what arrived were heartbeats folded in main.
    expect(frames.total).toBeGreaterThan(0);
    expect(frames.withLease).toBe(0);
    await page.getByRole('button', { name: 'Node pools' }).click();
  });

  test('a node relabelled into another pool moves there without a reload', async () => {
    await page.evaluate(() => {
      (window as unknown as { __noReload: boolean }).__noReload = true;
    });
    await kubectl(['label', 'node', 'north-1', `${LABEL_NODEPOOL}=south`, '--overwrite']);
    const expected = await truth();
    expect(expected.south?.members).toContain('north-1');
    const south = await until('north-1 listed in south', 30_000, async () => {
      const ui = await poolInUi('south');
      return ui.members.join() === expected.south?.members.join() ? ui : undefined;
    });
    expect(south.ready).toBe(expected.south?.ready);
    const north = await poolInUi('north');
    expect(north.members).toEqual(['north-0']);
    expect(north.ready).toBe(1);
    // The controller's own status catches up too, and the UI shows it.
    await until('controller status for south', 60_000, async () =>
      (await poolInUi('south')).reported === '3 ready, 0 not ready' ? true : undefined,
    );
    await expect(
      page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload),
    ).resolves.toBe(true);

    // The same move in the other views.
    await kubectl(['annotate', 'node', 'south-0', 'node.openyurt.io/autonomy-duration=0', '--overwrite']);
    await page.getByRole('button', { name: 'Nodes' }).click();
    const nodeRow = (name: string) =>
      page
        .getByRole('table', { name: 'Nodes' })
        .getByRole('row')
        .filter({ has: page.getByRole('rowheader', { name, exact: true }) });
    await until('north-1 shown in pool south', 15_000, async () =>
      (await nodeRow('north-1').locator('td[data-col=pool]').textContent()) === 'south' ? true : undefined,
    );
    await until('autonomy shown for south-0', 15_000, async () =>
      (await nodeRow('south-0').locator('td[data-col=autonomy]').textContent()) === 'never evicted'
        ? true
        : undefined,
    );
    expect(await nodeRow('kwok-node-0').locator('td[data-col=pool]').textContent()).toBe('—');

    await page.getByRole('button', { name: 'Topology' }).click();
    const glance = page.getByRole('table', { name: 'Pools at a glance' });
    const glanceCell = (pool: string, col: string) =>
      glance
        .getByRole('row')
        .filter({ has: page.getByRole('rowheader', { name: pool, exact: true }) })
        .locator(`td[data-col=${col}]`);
    await until('south with 3 nodes at a glance', 15_000, async () =>
      (await glanceCell('south', 'members').textContent()) === '3' ? true : undefined,
    );
    expect(await glanceCell('Not in a pool', 'members').textContent()).toBe('1');
    // The map is drawn in WebGL; the pool's drill-down lists its members.
    await expect(page.locator('.fleet-graph canvas').count()).resolves.toBeGreaterThan(0);
    await glance.getByRole('button', { name: 'south', exact: true }).click();
    const southPanel = page.getByRole('region', { name: 'Pool south' });
    await expect(southPanel.getByRole('button').allTextContents()).resolves.toEqual(
      expect.arrayContaining(['north-1', 'south-0', 'south-1']),
    );
    await page.screenshot({ path: join(SHOTS, 'edgefleet-e2e-topology.png'), fullPage: true });
  });

  test('service topology overlay: endpoints per pool as the EndpointSlices say', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: {
              name: 'edge-web',
              namespace: 'default',
              annotations: { 'openyurt.io/topologyKeys': 'openyurt.io/nodepool' },
            },
            spec: { ports: [{ port: 80 }] },
          },
          {
            apiVersion: 'discovery.k8s.io/v1',
            kind: 'EndpointSlice',
            metadata: {
              name: 'edge-web-1',
              namespace: 'default',
              labels: { 'kubernetes.io/service-name': 'edge-web' },
            },
            addressType: 'IPv4',
            ports: [{ port: 80 }],
            endpoints: [
              { addresses: ['198.19.64.10'], nodeName: 'north-0', conditions: { ready: true } },
              { addresses: ['198.19.64.11'], nodeName: 'south-1', conditions: { ready: true } },
              { addresses: ['198.19.64.12'], nodeName: 'south-1', conditions: { ready: false } },
            ],
          },
        ],
      }),
    );
    // The truth: per pool, the endpoints the slices list on that pool's nodes.
    const slices = await (lab as Lab).cluster.kubectlJson<{
      items: { endpoints: { nodeName?: string; conditions?: { ready?: boolean } }[] }[];
    }>(['get', 'endpointslices', '-n', 'default', '-l', 'kubernetes.io/service-name=edge-web']);
    const pools = await truth();
    const poolOf = (node: string) => Object.entries(pools).find(([, p]) => p.members.includes(node))?.[0];
    const expected: Record<string, { ready: number; total: number; nodes: Set<string> }> = {};
    for (const ep of slices.items.flatMap((s) => s.endpoints)) {
      const pool = poolOf(ep.nodeName ?? '') ?? '?';
      expected[pool] ??= { ready: 0, total: 0, nodes: new Set() };
      expected[pool].total++;
      if (ep.conditions?.ready !== false) expected[pool].ready++;
      expected[pool].nodes.add(ep.nodeName ?? '');
    }
    expect(Object.keys(expected).sort()).toEqual(['north', 'south']);

    await page
      .getByLabel('Service overlay')
      .selectOption({ label: 'default/edge-web (openyurt.io/nodepool)' });
    const overlay = page.getByRole('region', { name: 'Service default/edge-web' });
    await overlay.getByText('traffic stays in each client’s pool').waitFor({ timeout: 15_000 });
    const row = (pool: string) =>
      overlay
        .getByRole('table', { name: 'Service endpoints per pool' })
        .getByRole('row')
        .filter({ has: page.getByRole('rowheader', { name: pool, exact: true }) });
    for (const [pool, e] of Object.entries(expected)) {
      await until(`endpoints of ${pool} in the overlay`, 15_000, async () =>
        (await row(pool).locator('td[data-col=endpoints]').textContent()) === `${e.ready} / ${e.total}`
          ? true
          : undefined,
      );
      expect(await row(pool).locator('td[data-col=nodes]').textContent()).toBe(
        [...e.nodes].sort().join(', '),
      );
    }
    await page.screenshot({ path: join(SHOTS, 'edgefleet-e2e-service-overlay.png'), fullPage: true });
    await page.getByLabel('Service overlay').selectOption('');
  });

  test('apps per pool: a YurtAppSet and its ready pods in each pool', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'apps.openyurt.io/v1beta1',
        kind: 'YurtAppSet',
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          pools: ['north', 'south'],
          workload: {
            workloadTemplate: {
              deploymentTemplate: {
                metadata: { labels: { app: 'web' } },
                spec: {
                  replicas: 1,
                  selector: { matchLabels: { app: 'web' } },
                  template: {
                    metadata: { labels: { app: 'web' } },
                    spec: { ...KWOK_POD_PLACEMENT, containers: [{ name: 'web', image: 'web:v1' }] },
                  },
                },
              },
            },
            workloadTweaks: [{ pools: ['south'], tweaks: { replicas: 2 } }],
          },
        },
      }),
    );
    await page.getByRole('button', { name: 'Apps' }).click();
    const app = page.getByRole('region', { name: 'App default/web' });
    const cell = (pool: string) =>
      app
        .getByRole('row')
        .filter({ has: page.getByRole('rowheader', { name: pool, exact: true }) })
        .locator('td')
        .first();
    await until('1 of 1 pod ready in north, 2 of 2 in south', 90_000, async () =>
      (await cell('north').textContent()) === '1 / 1' && (await cell('south').textContent()) === '2 / 2'
        ? true
        : undefined,
    );
    await page.screenshot({ path: join(SHOTS, 'edgefleet-e2e-apps.png'), fullPage: true });
    await page.getByRole('button', { name: 'Clusters' }).click();
    await page.getByRole('table', { name: 'Resource access' }).waitFor();
    await page.screenshot({ path: join(SHOTS, 'edgefleet-e2e-clusters.png'), fullPage: true });
  });

  test('secrets of the imported kubeconfig stay out of the settings file and the app log', async () => {
    const admin = await readFile((lab as Lab).cluster.kubeconfigPath, 'utf8');
    const key =
      /client-key-data:\s*(\S+)/.exec(admin)?.[1] ?? /"client-key-data":\s*"([^"]+)"/.exec(admin)?.[1];
    expect(key).toBeTruthy();
    const configDir = join(dir, 'config', 'edgefleet');
    const files = await readdir(configDir);
    expect(files).toContain('settings.json');
    for (const f of files) expect(await readFile(join(configDir, f), 'utf8')).not.toContain(key as string);
    expect((app as BrowserApp).output).not.toContain(key as string);
  });

  test('API server stopped → the UI says unreachable, with the age of the data it still shows', async () => {
    await page.getByRole('button', { name: 'Node pools' }).click();
    await (lab as Lab).cluster.processes.stop('kube-apiserver');
    const badge = page.getByRole('status', { name: 'Cluster connection' });
    try {
      await badge
        .getByText(/Unreachable — showing last-known data from \d+ s ago/)
        .waitFor({ timeout: 90_000 });
    } catch (e) {
      await page.screenshot({ path: join(SHOTS, 'edgefleet-e2e-unreachable-failed.png'), fullPage: true });
      throw e;
    }
    // The last-known pools stay on screen, and the age grows while we look.
    expect((await poolInUi('south')).members).toContain('north-1');
    const age = async () => Number(/from (\d+) s ago/.exec((await badge.textContent()) ?? '')?.[1]);
    const first = await age();
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await age()).toBeGreaterThan(first);
    await page.screenshot({ path: join(SHOTS, 'edgefleet-e2e-unreachable.png'), fullPage: true });
  });
});
