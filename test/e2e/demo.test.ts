/**
 * The newcomer's first start: the app in browser mode with a clean HOME (only EDGEFLEET_CACHE
 * still points at the shared binary cache, so nothing is rebuilt), no cluster anywhere. The user
 * clicks "Start the demo fleet"; the app starts the local fleet (control plane on 127.0.0.1,
 * CRDs, controller, kwok nodes in 12 pools, simulator) and opens it; the Node pools view shows
 * the 12 pools with the members kubectl reports. Stopping the app leaves no demo process and no
 * listening API server port.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LABEL_NODEPOOL } from '../../src-agent/api/labels.ts';
import { sh } from '../../src-main/demo/sh.ts';
import { binDir, cacheRoot } from '../../src-main/demo/toolchain.ts';
import { demoPools } from '../../src-main/demo/topology.ts';
import { TestKeyring } from '../lab/keyring.ts';
import { BrowserApp, buildApp, tearDownE2e, until } from './app-harness.ts';
import { launchChromium } from './chromium.ts';

const NODES = 24;
const SHOT = '/tmp/edgefleet-e2e-demo.png';

let dir = '';
let home = '';
let keyring: TestKeyring | undefined;
let app: BrowserApp | undefined;
let browser: Browser | undefined;
let page: Page;

const demoDir = () => join(home, '.cache', 'edgefleet-demo');
const kubectl = (args: string[]) =>
  sh(join(binDir(), 'kubectl'), [`--kubeconfig=${join(demoDir(), 'admin.kubeconfig')}`, ...args]);

/** Pool → sorted member names, as kube-apiserver says. */
async function truth(): Promise<Record<string, string[]>> {
  const list = JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as {
    items: { metadata: { name: string; labels?: Record<string, string> } }[];
  };
  const out: Record<string, string[]> = {};
  for (const n of list.items) {
    const pool = n.metadata.labels?.[LABEL_NODEPOOL];
    if (!pool) continue;
    out[pool] ??= [];
    out[pool].push(n.metadata.name);
  }
  for (const m of Object.values(out)) m.sort();
  return out;
}

/** Order-independent form of pool → members, for comparing the UI with kubectl. */
function canonical(pools: Record<string, string[]>): string {
  return JSON.stringify(Object.entries(pools).sort(([a], [b]) => a.localeCompare(b)));
}

/** Pool → sorted member names, as the Node pools table shows. */
async function poolsInUi(): Promise<Record<string, string[]>> {
  const rows = page.getByRole('table', { name: 'Node pools' }).locator('tbody tr');
  const out: Record<string, string[]> = {};
  for (const row of await rows.all()) {
    const name = ((await row.locator('th').textContent()) ?? '').trim();
    const members = ((await row.locator('td[data-col=members]').textContent()) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s && s !== '—')
      .sort();
    out[name] = members;
  }
  return out;
}

/** Processes whose command line mentions the demo directory (etcd, apiserver, kwok, controller...). */
function demoProcesses(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(demoDir())) found.push(`${pid}: ${cmdline.slice(0, 160)}`);
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

beforeAll(async () => {
  buildApp();
  dir = await mkdtemp(join(tmpdir(), 'ef-e2e-demo-'));
  home = join(dir, 'home');
  keyring = await TestKeyring.start();
  app = new BrowserApp(dir, keyring, {
    // The clean HOME would mean a fresh binary cache (a 20-minute build): keep the shared one.
    EDGEFLEET_CACHE: cacheRoot(),
    XDG_CACHE_HOME: join(home, '.cache'),
    EDGEFLEET_DEMO_NODES: String(NODES),
  });
  await app.start();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
});

afterAll(async () => {
  await tearDownE2e({ browser, app, lab: undefined, keyring, dir });
});

describe('the demo fleet from a clean HOME', () => {
  let apiServerUrl = '';

  test('Start the demo fleet → the app opens it and shows its 12 pools with their nodes', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto((app as BrowserApp).url);
    await page.getByText('No kubeconfig found').waitFor({ timeout: 15_000 });
    const start = page.getByRole('button', { name: 'Start the demo fleet' });
    await start.click();
    // Progress shows while it starts (binaries cached: a start step, not the build).
    await page
      .getByRole('status', { name: 'Demo fleet progress' })
      .waitFor({ timeout: 10_000 })
      .catch(() => undefined);

    // Once up, the app opens the demo cluster on the Node pools view by itself.
    await until('the demo cluster opened', 180_000, async () =>
      (await page.getByRole('button', { name: 'Node pools' }).getAttribute('aria-current')) === 'page'
        ? true
        : undefined,
    );
    await page
      .getByRole('status', { name: 'Cluster connection' })
      .getByText('Connected')
      .waitFor({ timeout: 60_000 });
    await page.getByText('demo/edgefleet-demo').first().waitFor();

    const expected = await truth();
    const names = demoPools(NODES).map((p) => p.name);
    expect(Object.keys(expected).sort()).toEqual([...names].sort());
    expect(Object.values(expected).reduce((a, m) => a + m.length, 0)).toBe(NODES);
    for (const p of demoPools(NODES)) expect(expected[p.name]).toHaveLength(p.nodes);
    const ui = await until('the 12 pools with their members in the UI', 60_000, async () => {
      const shown = await poolsInUi();
      return canonical(shown) === canonical(expected) ? shown : undefined;
    }).catch(async (e: Error) => {
      throw new Error(
        `${e.message}\nUI: ${JSON.stringify(await poolsInUi())}\nkubectl: ${JSON.stringify(expected)}`,
      );
    });
    expect(Object.keys(ui)).toHaveLength(12);
    await page.screenshot({ path: SHOT, fullPage: true });

    const state = JSON.parse(readFileSync(join(demoDir(), 'cluster.json'), 'utf8')) as {
      apiServerUrl: string;
    };
    apiServerUrl = state.apiServerUrl;
    expect(new URL(apiServerUrl).hostname).toBe('127.0.0.1');
    expect(await listening(apiServerUrl)).toBe(true);
    expect(demoProcesses().length).toBeGreaterThanOrEqual(6);
    expect(errors).toEqual([]);
  });

  test('the simulator cuts a node: the API shows it Unknown as node-lifecycle marks it', async () => {
    // First cut after one 15 s tick, Unknown after the 20 s grace period.
    const cut = await until('a demo node marked Unknown', 90_000, async () => {
      const list = JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as {
        items: {
          metadata: { name: string };
          status?: { conditions?: { type: string; status: string; reason?: string }[] };
        }[];
      };
      return list.items.find((n) =>
        n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'Unknown'),
      );
    });
    const ready = cut.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.reason).toBe('NodeStatusUnknown');
    const autonomous = /-(cameras|gateways)-/.test(cut.metadata.name);
    const autonomy = cut.status?.conditions?.find((c) => c.type === 'Autonomy');
    expect(autonomy?.status).toBe(autonomous ? 'True' : undefined);
  });

  test('stopping the app leaves no demo process and no listening API server port', async () => {
    const t0 = Date.now();
    await (app as BrowserApp).stop(60_000);
    const stopMs = Date.now() - t0;
    expect(demoProcesses()).toEqual([]);
    expect(await listening(apiServerUrl)).toBe(false);
    expect((app as BrowserApp).output).not.toMatch(/\[demo\] stop:/);
    console.log(`app with the demo stopped in ${(stopMs / 1000).toFixed(1)} s`);
  });
});
