/**
 * `npm run bench -- ui [--nodes N] [--pools P] [--pods M] [--lease-seconds S] [--no-profile]
 *   [--baseline DIR] [--rounds R] [--changes C]`
 * (root: starts a lab control plane, kwok, a keyring and the app).
 *
 * `--baseline DIR`: another checkout of the app, built (`npx electron-vite build` there), measured
 * against the same lab in the same session, interleaved with this one (this, baseline, this, ...,
 * `--rounds` times per size): on a shared machine the load moves by the minute, so a before/after
 * from two sessions says little. The table gives each figure's median over the rounds.
 *
 * The app exactly as users run it in browser mode (real main process, IPC over the WebSocket,
 * Debian's Chromium with software WebGL), against one lab that grows from the small size (50
 * kwok nodes, 2 pools, 500 pods) to the large one (default 5,000 nodes / 200 pools / 50,000
 * pods). Each size is measured by fresh app processes that import the lab kubeconfig through the
 * UI and open the cluster; figures are printed side by side, then the issue's goals.
 *
 * Pods carry spec.nodeName (no scheduler in the path) and are created by parallel POSTs; kwok's
 * pod-ready stage makes them Running. Each node gets a /28 pod CIDR from a /15 cluster range so
 * kwok has an IP for every pod (the lab's default /18 with /26 runs out at 256 nodes).
 * kwok renews each node Lease every lease-seconds/4: the default 40 s is kubelet's upstream
 * rate (every 10 s, 500 renewals/s at 5,000 nodes), the background the app really faces.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { Browser, CDPSession, Page } from 'playwright';
import { KubeClient, kubeconfigConnection, RESOURCES } from '../src-agent/api/kube-client.ts';
import { ANNOTATION_AUTONOMY_DURATION, LABEL_NODEPOOL } from '../src-agent/api/labels.ts';
import { NODEPOOL_RESOURCE, type NodePool } from '../src-agent/api/nodepool.ts';
import { BrowserApp, buildApp, until } from '../test/e2e/app-harness.ts';
import { launchChromium } from '../test/e2e/chromium.ts';
import { Cluster } from '../test/lab/cluster.ts';
import { installCrds } from '../test/lab/controller-support.ts';
import { TestKeyring } from '../test/lab/keyring.ts';
import { KWOK_POD_PLACEMENT, Kwok, kwokNodeObject } from '../test/lab/kwok.ts';

const CONCURRENCY = 24;
const SERVICE_ACCOUNTS = {
  group: '',
  version: 'v1',
  plural: 'serviceaccounts',
  kind: 'ServiceAccount',
  namespaced: true,
} as const;
const SMALL = { nodes: 50, pools: 2, pods: 500 };
/** Creating the large fleet may take this long; past it the bench measures what exists and says so. */
const CREATE_BUDGET_MS = 15 * 60_000;
const FRAME_WINDOW_MS = 10_000;
let CHANGES = 30;
/** Each change gets a fixed slot, so the change loop lasts as long as the idle window it is compared to. */
const CHANGE_SLOT_MS = 1_500;
const CHANGE_TIMEOUT_MS = 30_000;
const RENDER_TIMEOUT_MS = 180_000;
const VIEWPORT = { width: 1280, height: 800 };

const nodeName = (i: number) => `edge-${String(i).padStart(5, '0')}`;
const poolName = (i: number) => `pool-${String(i).padStart(3, '0')}`;

interface Size {
  nodes: number;
  pools: number;
  pods: number;
}

interface Figures {
  label: string;
  size: Size;
  firstRenderS: number;
  overviewS: number;
  overviewCanvasS: number;
  overviewGlanceS: number;
  frameP50: number;
  frameP95: number;
  frames: number;
  changeP50S: number;
  changeP99S: number;
  heapMb: number;
  heapBeforeGcMb: number;
  rssMb: number;
  ipcBytesPerChange: number;
  idleBytesPerS: number;
  renders: Record<string, number>;
  perfFirstRender: Record<string, number>;
  perfFrames: Record<string, number>;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** The middle value, or the mean of the two middle ones (two rounds: their mean, not the lower). */
function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The figures of one run on one line. */
function summary(f: Figures): string {
  return [
    `first render ${f.firstRenderS.toFixed(2)} s`,
    `overview ${f.overviewS.toFixed(2)} s`,
    `frame p50/p95 ${f.frameP50.toFixed(1)}/${f.frameP95.toFixed(1)} ms`,
    `change p50/p99 ${f.changeP50S.toFixed(3)}/${f.changeP99S.toFixed(3)} s`,
    `heap ${f.heapMb.toFixed(0)} MB`,
    `main RSS ${f.rssMb.toFixed(0)} MB`,
    `IPC/change ${f.ipcBytesPerChange.toFixed(0)} B`,
  ].join(', ');
}

/** Each numeric figure's median over runs of one build and size (labels, counts and profiles from the first). */
function medianFigures(runs: Figures[]): Figures {
  const first = runs[0];
  if (!first) throw new Error('bench ui: no runs to summarise');
  const out = { ...first } as Record<string, unknown>;
  for (const [k, v] of Object.entries(first))
    if (typeof v === 'number')
      out[k] = median(runs.map((r) => (r as unknown as Record<string, number>)[k] as number));
  return out as unknown as Figures;
}

/** Runs fn over 0..count-1 with at most `limit` in flight; stops early (returns how many ran) past the deadline. */
async function eachLimited(
  count: number,
  limit: number,
  deadline: number,
  fn: (i: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count && performance.now() < deadline) await fn(next++);
    }),
  );
  return Math.min(next, count);
}

async function vmRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 'NaN') / 1024;
}

/** The lab's fleet, grown in place from one size to the next. */
class Fleet {
  readonly api: KubeClient;
  readonly log: (m: string) => void;
  nodes = 0;
  pools = 0;
  pods = 0;

  constructor(api: KubeClient, log: (m: string) => void) {
    this.api = api;
    this.log = log;
  }

  /** Grows to `want`; returns what exists (fewer pods than asked when the budget ran out, with why). */
  async grow(want: Size): Promise<{ size: Size; note: string }> {
    const api = this.api;
    const t0 = performance.now();
    const deadline = t0 + CREATE_BUDGET_MS;
    const from = { nodes: this.nodes, pools: this.pools, pods: this.pods };
    await eachLimited(want.pools - from.pools, CONCURRENCY, Number.POSITIVE_INFINITY, async (k) => {
      await api.create(NODEPOOL_RESOURCE, {
        apiVersion: 'apps.openyurt.io/v1beta2',
        kind: 'NodePool',
        metadata: { name: poolName(from.pools + k) },
        spec: { type: 'Edge' },
      } as NodePool);
    });
    this.pools = want.pools;
    // Node i sits in pool i % pools (pools of the previous size keep their nodes and get more).
    await eachLimited(want.nodes - from.nodes, CONCURRENCY, Number.POSITIVE_INFINITY, async (k) => {
      const i = from.nodes + k;
      await api.create(
        RESOURCES.nodes,
        kwokNodeObject({
          name: nodeName(i),
          labels: { [LABEL_NODEPOOL]: poolName(i % want.pools) },
        }) as never,
      );
    });
    this.nodes = want.nodes;
    await until(`${want.nodes} kwok nodes Ready`, Math.max(120_000, want.nodes * 60), async () => {
      const list = await api.list<{
        metadata: { name: string };
        status?: { conditions?: { type: string; status: string }[] };
      }>(RESOURCES.nodes, { limit: 1000 });
      const ready = list.items.filter((n) =>
        n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ).length;
      return ready >= want.nodes ? true : undefined;
    });
    this.log(
      `${want.nodes} nodes in ${want.pools} pools Ready after ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    // Pod admission needs the namespace's default ServiceAccount, which kube-controller-manager
    // creates a moment after start: a fast run reached the first POST before it existed.
    await until('the default ServiceAccount', 60_000, async () =>
      (await api.getOrUndefined(SERVICE_ACCOUNTS, 'default', 'default')) ? true : undefined,
    );
    const tPods = performance.now();
    let created = 0;
    const ran = await eachLimited(want.pods - from.pods, CONCURRENCY, deadline, async (k) => {
      const j = from.pods + k;
      await api.create(RESOURCES.pods, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `pod-${String(j).padStart(6, '0')}`,
          namespace: 'default',
          labels: { app: `app-${j % 20}` },
        },
        spec: {
          ...KWOK_POD_PLACEMENT,
          nodeName: nodeName(j % want.nodes),
          containers: [{ name: 'app', image: `bench/app-${j % 20}:v1` }],
        },
      } as never);
      created++;
      if (created % 5000 === 0) this.log(`created ${from.pods + created}/${want.pods} pods`);
    });
    this.pods = from.pods + ran;
    // Running before measuring: kwok's status writes would otherwise be part of every figure.
    await until('kwok to run every pod', Math.max(120_000, want.pods * 20), async () => {
      const pending = await api.request<{ items: unknown[] }>(
        'GET',
        '/api/v1/pods?limit=1&fieldSelector=status.phase%3DPending',
      );
      return pending.items.length === 0 ? true : undefined;
    });
    const secs = (performance.now() - tPods) / 1000;
    this.log(`${this.pods} pods Running ${secs.toFixed(1)} s after the first POST`);
    const note =
      this.pods < want.pods
        ? `only ${this.pods} of ${want.pods} pods: creating them hit the ${CREATE_BUDGET_MS / 60_000} min budget on this machine`
        : '';
    return { size: { nodes: this.nodes, pools: this.pools, pods: this.pods }, note };
  }
}

/** Bytes of every WebSocket frame main sent the page, with when it arrived (bench clock). */
class FrameMeter {
  readonly #frames: { t: number; bytes: number }[] = [];

  attach(page: Page): void {
    page.on('websocket', (ws) =>
      ws.on('framereceived', (f) => {
        const bytes = typeof f.payload === 'string' ? Buffer.byteLength(f.payload) : f.payload.length;
        this.#frames.push({ t: performance.now(), bytes });
      }),
    );
  }

  bytesBetween(from: number, to: number): number {
    let sum = 0;
    for (const f of this.#frames) if (f.t >= from && f.t < to) sum += f.bytes;
    return sum;
  }
}

/** A fresh app (own HOME/config), a page on it, the lab kubeconfig imported through the UI. */
async function openApp(
  browser: Browser,
  keyring: TestKeyring,
  dir: string,
  kubeconfig: string,
  env: NodeJS.ProcessEnv = {},
  repo?: string,
): Promise<{ app: BrowserApp; page: Page; meter: FrameMeter; cdp: CDPSession }> {
  const app = new BrowserApp(dir, keyring, env, repo);
  await app.start();
  const page = await browser.newPage({ viewport: VIEWPORT });
  const meter = new FrameMeter();
  meter.attach(page);
  const cdp = await page.context().newCDPSession(page);
  await page.goto(app.url);
  await page.getByText('Secrets are stored in the OS keychain').waitFor({ timeout: 30_000 });
  await page.getByLabel('Kubeconfig path').fill(kubeconfig);
  await page.getByLabel('Name (optional)').fill('lab');
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByRole('button', { name: /^Open .* \(imported\)$/ }).waitFor({ timeout: 30_000 });
  return { app, page, meter, cdp };
}

/**
 * Times (in the page, on its clock) from the click on Open to `done()` first holding, checked
 * every animation frame. `done` is page code returning a boolean.
 */
async function armOpenTimer(page: Page, probes: Record<string, string>): Promise<void> {
  await page.evaluate((probeSrc) => {
    const w = window as unknown as { __bench: { open?: number; seen: Record<string, number> } };
    w.__bench = { seen: {} };
    document.addEventListener(
      'click',
      (e) => {
        const b = (e.target as Element | null)?.closest('button');
        if (b?.getAttribute('aria-label')?.startsWith('Open ') && w.__bench.open === undefined)
          w.__bench.open = performance.now();
      },
      true,
    );
    const probes = Object.entries(probeSrc).map(([k, src]) => [k, new Function(src)] as const);
    const poll = () => {
      for (const [k, fn] of probes)
        if (w.__bench.seen[k] === undefined && fn()) w.__bench.seen[k] = performance.now();
      if (Object.keys(w.__bench.seen).length < probes.length) requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
  }, probes);
}

async function readOpenTimer<K extends string>(page: Page, keys: K[]): Promise<Record<K, number>> {
  let last = {};
  const r = await until(`${keys.join(' and ')} after Open`, RENDER_TIMEOUT_MS, async () => {
    const b = await page.evaluate(
      () => (window as unknown as { __bench: { open?: number; seen: Record<string, number> } }).__bench,
    );
    last = b;
    return b.open !== undefined && keys.every((k) => b.seen[k] !== undefined) ? b : undefined;
  }).catch((e: Error) => {
    throw new Error(`${e.message} (page saw ${JSON.stringify(last)})`);
  });
  return Object.fromEntries(
    keys.map((k) => [k, ((r.seen[k] as number) - (r.open as number)) / 1000]),
  ) as Record<K, number>;
}

const nodesShownProbe = (n: number) =>
  `return document.querySelector('output[aria-label="Nodes shown"]')?.textContent === ${JSON.stringify(`${n} nodes`)};`;

/**
 * Canvas: sigma finished a draw (its afterRender) holding every node, as a dot or counted in its
 * pool's tile (zoomed out, the graph holds only tiles, each with its `members`). FleetGraph fills the graph
 * and refreshes in the same commit that creates the instance, so the hook goes in through a
 * setter on `window.__edgefleetSigma`, installed before Open: a poll would miss that first draw.
 */
async function armSigmaHook(page: Page, nodes: number): Promise<void> {
  await page.evaluate((want) => {
    type S = {
      on(e: 'afterRender', f: () => void): void;
      getGraph(): { order: number; forEachNode(f: (k: string, a: { members?: number }) => void): void };
    };
    const w = window as unknown as { __bench: { seen: Record<string, number> } };
    let current: S | undefined;
    Object.defineProperty(window, '__edgefleetSigma', {
      configurable: true,
      get: () => current,
      set: (s: S) => {
        current = s;
        s.on('afterRender', () => {
          if (w.__bench.seen.canvas !== undefined || current !== s) return;
          let dots = 0;
          let inTiles = 0;
          s.getGraph().forEachNode((k, a) => {
            if (k.startsWith('node:')) dots++;
            else if (k.startsWith('pool:')) inTiles += a.members ?? 0;
          });
          if (Math.max(dots, inTiles) >= want) w.__bench.seen.canvas = performance.now();
        });
      },
    });
  }, nodes);
}

/** Glance: the table has a row per pool and a drawn row counts members. */
const overviewProbes = (s: Size) => ({
  glance: `
    const t = document.querySelector('table[aria-label="Pools at a glance"]');
    if (!t || Number(t.getAttribute('aria-rowcount')) < ${s.pools + 1}) return false;
    return [...t.querySelectorAll('tbody td[data-col=members]')].some((c) => Number(c.textContent) > 0);`,
});

async function perfMetrics(cdp: CDPSession): Promise<Record<string, number>> {
  const { metrics } = (await cdp.send('Performance.getMetrics')) as {
    metrics: { name: string; value: number }[];
  };
  return Object.fromEntries(metrics.map((m) => [m.name, m.value]));
}

/** Seconds of script, layout, style and task time between two Performance.getMetrics samples. */
function perfDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const keys = ['TaskDuration', 'ScriptDuration', 'LayoutDuration', 'RecalcStyleDuration'];
  return Object.fromEntries(keys.map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)]));
}

/** page clock − bench clock (ms), from the sample with the shortest round trip. */
async function clockOffset(page: Page): Promise<number> {
  let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
  for (let i = 0; i < 15; i++) {
    const t1 = performance.now();
    const p = await page.evaluate(() => performance.now());
    const t2 = performance.now();
    if (t2 - t1 < best.rtt) best = { rtt: t2 - t1, offset: p - (t1 + t2) / 2 };
  }
  return best.offset;
}

const renderCounts = (page: Page) =>
  page.evaluate(() => ({
    ...(window as unknown as { __edgefleetRenders?: Record<string, number> }).__edgefleetRenders,
  }));

/** Self time per function from a V8 CPU profile (CDP Profiler or node --cpu-prof), top `n`. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}
function topSelfTime(profile: CpuProfile, n: number): string[] {
  const byId = new Map(profile.nodes.map((x) => [x.id, x.callFrame]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const cf = byId.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    if (!cf) return;
    const file = cf.url.replace(/^.*\/(node_modules\/)?/, (m) => (m.includes('node_modules') ? 'nm/' : ''));
    const key = `${cf.functionName || '(anonymous)'} ${file ? `${file}:${cf.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, us]) =>
        `${(us / 1000).toFixed(0).padStart(6)} ms ${((us / total) * 100).toFixed(1).padStart(5)} %  ${k}`,
    );
}

async function measure(
  label: string,
  size: Size,
  ctx: { browser: Browser; keyring: TestKeyring; dir: string; kubeconfig: string; api: KubeClient },
  log: (m: string) => void,
  track: (app: BrowserApp | undefined) => void,
  notes: string[],
  repo?: string,
): Promise<Figures> {
  const { browser, keyring, kubeconfig, api } = ctx;

  // 1. Open → Nodes view lists every node, in an app that has seen nothing yet.
  const a = await openApp(browser, keyring, join(ctx.dir, `${label}-nodes`), kubeconfig, {}, repo);
  track(a.app);
  await a.cdp.send('Performance.enable');
  await armOpenTimer(a.page, { nodes: nodesShownProbe(size.nodes) });
  const perf0 = await perfMetrics(a.cdp);
  await a.page.getByRole('button', { name: /^Open .* \(imported\)$/ }).click();
  await a.page.getByRole('button', { name: 'Nodes', exact: true }).click();
  const { nodes: firstRenderS } = await readOpenTimer(a.page, ['nodes']);
  const perfFirstRender = perfDelta(perf0, await perfMetrics(a.cdp));
  log(`${label}: first render ${firstRenderS.toFixed(2)} s`);
  await a.page.close();
  await a.app.stop();
  track(undefined);

  // 2. Another fresh app: Open → Topology drawn and "Pools at a glance" filled; then everything else.
  const b = await openApp(browser, keyring, join(ctx.dir, `${label}-main`), kubeconfig, {}, repo);
  track(b.app);
  const { page, cdp, meter } = b;
  await cdp.send('Performance.enable');
  await armOpenTimer(page, overviewProbes(size));
  await armSigmaHook(page, size.nodes);
  await page.getByRole('button', { name: /^Open .* \(imported\)$/ }).click();
  await page.getByRole('button', { name: 'Topology', exact: true }).click();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // A view that never finishes is a figure too (NaN) plus what the page showed, not an abort.
  const ov = await readOpenTimer(page, ['canvas', 'glance']).catch(async (e: Error) => {
    const shot = join(tmpdir(), `edgefleet-bench-ui-${label}-overview.png`);
    await page.screenshot({ path: shot }).catch(() => undefined);
    const seen = await page.evaluate(() => ({
      connection: document.querySelector('[aria-label="Cluster connection"]')?.textContent,
      graph: !!document.querySelector('.fleet-graph'),
      canvases: document.querySelectorAll('.fleet-graph canvas').length,
      errors: [...document.querySelectorAll('.notice-error, [role=alert]')].map((x) => x.textContent),
      glanceRows: document
        .querySelector('table[aria-label="Pools at a glance"]')
        ?.getAttribute('aria-rowcount'),
      sigma: !!(window as unknown as { __edgefleetSigma?: unknown }).__edgefleetSigma,
    }));
    notes.push(
      `${label}: overview not complete: ${e.message}; page: ${JSON.stringify(seen)}; page errors: ${JSON.stringify(pageErrors.slice(0, 3))}; screenshot ${shot}`,
    );
    log(notes.at(-1) as string);
    return { canvas: Number.NaN, glance: Number.NaN };
  });
  const overviewS = Math.max(ov.canvas as number, ov.glance as number);
  log(`${label}: first overview render ${overviewS.toFixed(2)} s`);

  // 3. Frames while the page drives sigma's camera every frame (pan on a loop, zoom in and out
  // across the semantic-zoom threshold).
  await sleep(2_000);
  const perfF0 = await perfMetrics(cdp);
  const hasSigma = await page.evaluate(
    () => !!(window as unknown as { __edgefleetSigma?: unknown }).__edgefleetSigma,
  );
  const deltas = !hasSigma
    ? []
    : await page.evaluate(async (ms) => {
        type Cam = { setState(s: { x: number; y: number; ratio: number }): void };
        const s = (window as unknown as { __edgefleetSigma: { getCamera(): Cam } }).__edgefleetSigma;
        const cam = s.getCamera();
        const out: number[] = [];
        return await new Promise<number[]>((resolve) => {
          let last: number | undefined;
          let t0: number | undefined;
          const step = (t: number) => {
            t0 ??= t;
            if (last !== undefined) out.push(t - last);
            last = t;
            const e = (t - t0) / 1000;
            cam.setState({
              x: 0.5 + 0.3 * Math.cos(e * 0.9),
              y: 0.5 + 0.3 * Math.sin(e * 0.7),
              ratio: 0.08 + 0.92 * (0.5 + 0.5 * Math.cos(e * 0.6)),
            });
            if (t - t0 < ms) requestAnimationFrame(step);
            else resolve(out);
          };
          requestAnimationFrame(step);
        });
      }, FRAME_WINDOW_MS);
  const perfFrames = perfDelta(perfF0, await perfMetrics(cdp));
  log(`${label}: ${deltas.length} frames in ${FRAME_WINDOW_MS / 1000} s`);

  // 4. Node changes on screen. The Nodes view filtered to the node, so its row is rendered.
  await page.getByRole('button', { name: 'Nodes', exact: true }).click();
  const filter = page.getByLabel('Filter nodes');
  const offset = await clockOffset(page);
  const pick = (k: number) => nodeName((k * 7919 + 13) % size.nodes);
  await filter.fill(pick(0));
  await page.locator(`tr[data-node="${pick(0)}"]`).waitFor({ timeout: 30_000 });
  const idleMs = CHANGES * CHANGE_SLOT_MS;
  const idleStart = performance.now();
  await sleep(idleMs);
  const idleEnd = performance.now();
  const idleBytes = meter.bytesBetween(idleStart, idleEnd);
  const latencies: number[] = [];
  const renders: Record<string, number> = {};
  const loopStart = performance.now();
  const stamp = Date.now() % 100_000;
  for (let k = 0; k < CHANGES; k++) {
    const slotEnd = loopStart + (k + 1) * CHANGE_SLOT_MS;
    const name = pick(k);
    const value = `${stamp + k}s`;
    await filter.fill(name);
    await page.locator(`tr[data-node="${name}"]`).waitFor({ timeout: 30_000 });
    await page.evaluate(
      ({ name, value, timeoutMs }) => {
        const w = window as unknown as { __benchSeen: Promise<number> };
        w.__benchSeen = new Promise<number>((resolve, reject) => {
          const cell = () => document.querySelector(`tr[data-node="${name}"] td[data-col=autonomy]`);
          const mo = new MutationObserver(() => {
            if (cell()?.textContent === value) {
              mo.disconnect();
              resolve(performance.now());
            }
          });
          mo.observe(document.body, { subtree: true, childList: true, characterData: true });
          setTimeout(() => {
            mo.disconnect();
            reject(new Error(`${name} never showed autonomy ${value}`));
          }, timeoutMs);
        });
      },
      { name, value, timeoutMs: CHANGE_TIMEOUT_MS },
    );
    const before = await renderCounts(page);
    const sent = performance.now();
    await api.patch(RESOURCES.nodes, name, {
      metadata: { annotations: { [ANNOTATION_AUTONOMY_DURATION]: value } },
    });
    // A change that never shows counts as never (Infinity): p99 says so instead of aborting.
    const seen = await page
      .evaluate(() => (window as unknown as { __benchSeen: Promise<number> }).__benchSeen)
      .catch((e: Error) => {
        log(`${label}: ${e.message}`);
        return Number.POSITIVE_INFINITY;
      });
    latencies.push((seen - offset - sent) / 1000);
    const after = await renderCounts(page);
    for (const key of ['NodesView', 'NodeRow', 'PoolRow'])
      renders[key] = (renders[key] ?? 0) + ((after[key] ?? 0) - (before[key] ?? 0));
    const left = slotEnd - performance.now();
    if (left > 0) await sleep(left);
  }
  const loopEnd = performance.now();
  const loopBytes = meter.bytesBetween(loopStart, loopEnd);
  const idleRate = idleBytes / ((idleEnd - idleStart) / 1000);
  const ipcBytesPerChange = (loopBytes - idleRate * ((loopEnd - loopStart) / 1000)) / CHANGES;
  log(
    `${label}: changes done (loop ${((loopEnd - loopStart) / 1000).toFixed(1)} s, idle window ${(idleMs / 1000).toFixed(1)} s)`,
  );

  // 5. Memory once everything was shown.
  const heapBefore = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
  const rssMb = await vmRssMb(b.app.pid as number);
  await page.close();
  await b.app.stop();
  track(undefined);

  return {
    label,
    size,
    firstRenderS,
    overviewS,
    overviewCanvasS: ov.canvas as number,
    overviewGlanceS: ov.glance as number,
    frameP50: percentile(deltas, 50),
    frameP95: percentile(deltas, 95),
    frames: deltas.length,
    changeP50S: percentile(latencies, 50),
    changeP99S: percentile(latencies, 99),
    heapMb: heap.usedSize / 1024 / 1024,
    heapBeforeGcMb: heapBefore.usedSize / 1024 / 1024,
    rssMb,
    ipcBytesPerChange,
    idleBytesPerS: idleRate,
    renders,
    perfFirstRender,
    perfFrames,
  };
}

/**
 * Where the time goes when the large cluster is opened: the renderer's CPU profile (CDP
 * Profiler) from Open to the node table filled, and main's (node --cpu-prof, written at exit).
 */
async function profileOpen(
  size: Size,
  ctx: { browser: Browser; keyring: TestKeyring; dir: string; kubeconfig: string },
  track: (app: BrowserApp | undefined) => void,
): Promise<string[]> {
  const profDir = join(ctx.dir, 'cpu-prof');
  const a = await openApp(ctx.browser, ctx.keyring, join(ctx.dir, 'profile'), ctx.kubeconfig, {
    NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}`,
  });
  track(a.app);
  await a.cdp.send('Profiler.enable');
  await a.cdp.send('Profiler.setSamplingInterval', { interval: 500 });
  await armOpenTimer(a.page, { nodes: nodesShownProbe(size.nodes) });
  await a.cdp.send('Profiler.start');
  await a.page.getByRole('button', { name: /^Open .* \(imported\)$/ }).click();
  await a.page.getByRole('button', { name: 'Nodes', exact: true }).click();
  const { nodes } = await readOpenTimer(a.page, ['nodes']);
  const { profile } = (await a.cdp.send('Profiler.stop')) as { profile: CpuProfile };
  await a.page.close();
  await a.app.stop();
  track(undefined);
  const out = [
    `renderer, Open → ${size.nodes} nodes listed (${nodes.toFixed(2)} s, profiler on), self time:`,
  ];
  out.push(...topSelfTime(profile, 15).map((l) => `  ${l}`));
  const files = (await readdir(profDir).catch(() => [] as string[])).filter((f) => f.endsWith('.cpuprofile'));
  for (const f of files) {
    const p = JSON.parse(await readFile(join(profDir, f), 'utf8')) as CpuProfile;
    out.push(`main process thread ${f} (whole life: start, import, open, ${size.nodes} nodes), self time:`);
    out.push(...topSelfTime(p, 15).map((l) => `  ${l}`));
  }
  if (files.length === 0) out.push('main: no --cpu-prof file was written (the app did not exit cleanly)');
  return out;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      nodes: { type: 'string', default: '5000' },
      pools: { type: 'string', default: '200' },
      pods: { type: 'string', default: '50000' },
      'lease-seconds': { type: 'string', default: '40' },
      'no-profile': { type: 'boolean', default: false },
      baseline: { type: 'string' },
      rounds: { type: 'string', default: '1' },
      changes: { type: 'string', default: String(CHANGES) },
    },
  });
  const rounds = Number(values.rounds);
  CHANGES = Number(values.changes);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('bench ui: --rounds needs a positive integer');
  if (!Number.isInteger(CHANGES) || CHANGES < 1)
    throw new Error('bench ui: --changes needs a positive integer');
  const baseline = values.baseline;
  if (baseline && !existsSync(join(baseline, 'out', 'main', 'main.js')))
    throw new Error(
      `bench ui: --baseline ${baseline} has no built app; run \`npx electron-vite build\` there first`,
    );
  const large: Size = { nodes: Number(values.nodes), pools: Number(values.pools), pods: Number(values.pods) };
  const leaseSeconds = Number(values['lease-seconds']);
  for (const [k, v] of Object.entries({ ...large, leaseSeconds }))
    if (!Number.isInteger(v) || v < 1) throw new Error(`bench ui: --${k} needs a positive integer`);
  if (large.nodes <= SMALL.nodes || large.pools < SMALL.pools || large.pods < SMALL.pods)
    throw new Error(`bench ui: the large size must exceed the small one (${JSON.stringify(SMALL)})`);

  const log = (m: string) => console.log(`[bench ui] ${m}`);
  const dir = await mkdtemp(join(tmpdir(), 'ef-bench-ui-'));
  let cluster: Cluster | undefined;
  let api: KubeClient | undefined;
  let keyring: TestKeyring | undefined;
  let browser: Browser | undefined;
  let app: BrowserApp | undefined;
  const track = (a: BrowserApp | undefined) => {
    app = a;
  };
  try {
    buildApp();
    cluster = await Cluster.start({
      dir: join(dir, 'lab'),
      bindAddress: '127.0.0.1',
      // A /28 per node from a /15: an IP for 14 pods on each of up to 8,192 nodes (see the header).
      podCidr: '198.18.0.0/15',
      nodeCidrMaskSize: 28,
      // Lease renewals may lag under load; a node turning NotReady would be noise, not a figure.
      nodeMonitorGracePeriodSeconds: Math.max(60, leaseSeconds * 3),
      extraApiserverArgs: ['--max-requests-inflight=800', '--max-mutating-requests-inflight=400'],
      log: (l) => log(l),
    });
    await installCrds(cluster);
    await Kwok.start(cluster, { nodeLeaseSeconds: leaseSeconds });
    api = new KubeClient(kubeconfigConnection(cluster.kubeconfigPath), 'edgefleet-bench');
    keyring = await TestKeyring.start();
    browser = await launchChromium();
    const ctx = { browser, keyring, dir, kubeconfig: cluster.kubeconfigPath, api };
    const fleet = new Fleet(api, log);

    const notes: string[] = [];
    const runs: { build: 'this' | 'baseline'; f: Figures }[] = [];
    /** Every round measures this build, then the baseline (if any), on the same fleet. */
    const measureSize = async (label: string, size: Size): Promise<Figures[]> => {
      for (let r = 1; r <= rounds; r++)
        for (const build of baseline ? (['this', 'baseline'] as const) : (['this'] as const)) {
          const f = await measure(
            `${label}-${build}-r${r}`,
            size,
            ctx,
            log,
            track,
            notes,
            build === 'baseline' ? baseline : undefined,
          );
          f.label = label;
          runs.push({ build, f });
          log(`${build} round ${r}: ${summary(f)}`);
        }
      return [medianFigures(runs.filter((x) => x.build === 'this' && x.f.size === size).map((x) => x.f))];
    };
    const small = await fleet.grow(SMALL);
    const results: Figures[] = await measureSize('small', small.size);
    const big = await fleet.grow(large);
    if (big.note) notes.push(big.note);
    results.push(...(await measureSize('large', big.size)));
    const profile = values['no-profile'] ? [] : await profileOpen(big.size, ctx, track);

    const [s, l] = results as [Figures, Figures];
    const n = (f: Figures) => `${f.size.nodes} nodes`;
    const both = (fmt: (f: Figures) => string) => results.map(fmt);
    const lines: string[] = [];
    lines.push('', 'ui benchmark (browser mode, Debian Chromium, software WebGL; kwok nodes and pods)');
    for (const f of results)
      lines.push(
        `  ${f.label}: ${f.size.nodes} nodes / ${f.size.pools} pools / ${f.size.pods} pods, node leases renewed every ${leaseSeconds / 4} s`,
      );
    for (const note of notes) lines.push(`  note: ${note}`);
    const row = (cells: string[]) =>
      lines.push(
        cells
          .map((c) => c.padEnd(50))
          .join('')
          .trimEnd(),
      );
    row(both((f) => `first render (${n(f)}): ${f.firstRenderS.toFixed(2)} s`));
    row(both((f) => `first overview render (${n(f)}): ${f.overviewS.toFixed(2)} s`));
    row(
      both(
        (f) => `  canvas drawn ${f.overviewCanvasS.toFixed(2)} s, glance ${f.overviewGlanceS.toFixed(2)} s`,
      ),
    );
    row(both((f) => `p50 frame (${n(f)}): ${f.frameP50.toFixed(1)} ms`));
    row(both((f) => `p95 frame (${n(f)}): ${f.frameP95.toFixed(1)} ms`));
    row(both((f) => `  frames in ${FRAME_WINDOW_MS / 1000} s: ${f.frames}`));
    const ratio = l.frameP95 / s.frameP95;
    lines.push(`frame ratio ${l.size.nodes}/${s.size.nodes}: ${ratio.toFixed(2)}`);
    // rAF deltas come in vsync multiples: one missed vsync is 33.3 ms, just over the 33 ms goal.
    lines.push('  (rAF deltas are multiples of the 16.7 ms vsync: 33.3 ms = one frame missed)');
    row(both((f) => `change on screen p50 (${n(f)}): ${f.changeP50S.toFixed(3)} s`));
    row(both((f) => `change on screen p99 (${n(f)}): ${f.changeP99S.toFixed(3)} s`));
    row(both((f) => `renderer heap (${n(f)}): ${f.heapMb.toFixed(0)} MB`));
    row(both((f) => `  before GC: ${f.heapBeforeGcMb.toFixed(0)} MB`));
    row(both((f) => `main RSS (${n(f)}): ${f.rssMb.toFixed(0)} MB`));
    row(both((f) => `IPC bytes per node change (${n(f)}): ${f.ipcBytesPerChange.toFixed(0)}`));
    row(both((f) => `IPC idle bytes/s (${n(f)}): ${f.idleBytesPerS.toFixed(0)}`));
    row(
      both(
        (f) =>
          `renders over ${CHANGES} changes (${n(f)}): NodesView ${f.renders.NodesView ?? 0}, NodeRow ${f.renders.NodeRow ?? 0}, PoolRow ${f.renders.PoolRow ?? 0}`,
      ),
    );
    const sec = (x: number | undefined) => `${(x ?? 0).toFixed(2)} s`;
    row(
      both(
        (f) =>
          `renderer in first render (${n(f)}): script ${sec(f.perfFirstRender.ScriptDuration)}, layout ${sec(f.perfFirstRender.LayoutDuration)}, style ${sec(f.perfFirstRender.RecalcStyleDuration)}, tasks ${sec(f.perfFirstRender.TaskDuration)}`,
      ),
    );
    row(
      both(
        (f) =>
          `renderer in frame window (${n(f)}): script ${sec(f.perfFrames.ScriptDuration)}, tasks ${sec(f.perfFrames.TaskDuration)}`,
      ),
    );
    const goal = (what: string, ok: boolean, figure: string) =>
      lines.push(`goal ${what}: ${figure} — ${ok ? 'met' : 'NOT met'}`);
    lines.push(`goals at ${l.size.nodes} nodes:`);
    goal('first render ≤ 2 s', l.firstRenderS <= 2, `${l.firstRenderS.toFixed(2)} s`);
    goal('p95 frame ≤ 33 ms', l.frameP95 <= 33, `${l.frameP95.toFixed(1)} ms`);
    goal(`frame ratio ${l.size.nodes}/${s.size.nodes} ≤ 1.5`, ratio <= 1.5, ratio.toFixed(2));
    goal('change on screen p99 ≤ 1 s', l.changeP99S <= 1, `${l.changeP99S.toFixed(3)} s`);
    goal('renderer heap ≤ 300 MB', l.heapMb <= 300, `${l.heapMb.toFixed(0)} MB`);
    goal('main RSS ≤ 500 MB', l.rssMb <= 500, `${l.rssMb.toFixed(0)} MB`);
    if (baseline) {
      lines.push('', `interleaved runs (this build vs --baseline ${baseline}):`);
      for (const r of runs) lines.push(`  ${r.f.label} ${r.build.padEnd(8)} ${summary(r.f)}`);
      for (const label of ['small', 'large']) {
        const med = (build: string) =>
          medianFigures(runs.filter((r) => r.build === build && r.f.label === label).map((r) => r.f));
        lines.push(`  ${label} median this     ${summary(med('this'))}`);
        lines.push(`  ${label} median baseline ${summary(med('baseline'))}`);
      }
    }
    if (profile.length > 0) lines.push('', 'where the time goes', ...profile);
    console.log(lines.join('\n'));
  } finally {
    const steps: [string, () => Promise<unknown>][] = [
      ['browser', async () => browser?.close()],
      ['app', async () => app?.stop()],
      ['kube client', async () => api?.close()],
      ['lab', async () => cluster?.stop()],
      ['keyring', async () => keyring?.stop()],
      ['temp dir', () => rm(dir, { recursive: true, force: true })],
    ];
    for (const [what, step] of steps)
      await step().catch((e: unknown) => console.error(`bench ui: stopping the ${what}: ${e}`));
  }
}
