import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  ANNOTATION_NODE_REPORT,
  type NodeReport,
  parseNodeReport,
  REPORT_MAX_INTERVAL_MS,
  REPORT_MIN_INTERVAL_MS,
  type TunnelState,
} from '../api/node-report.ts';
import { MemoryLogger } from './log.ts';
import { CACHE_OVER_QUOTA, NodeReporter, type NodeReportSources } from './node-report.ts';
import { OfflineWindow } from './offline-window.ts';
import { connectedFromMetrics, probeTunnel } from './tunnel-state.ts';

const NODE = 'edge-1';
const MiB = 1 << 20;
const HOUR = 3_600_000;

/**
 * The API server as the reporter sees it: takes merge patches of the node's annotation. What it
 * did not expect is collected in `problems` (a throw would be caught by the reporter and only
 * turn into a 'failed' outcome), and every test ends by asserting there were none.
 */
class FakeNodeApi {
  readonly problems: string[] = [];
  readonly patches: NodeReport[] = [];
  reachable = true;
  answer = 200;

  async jsonRaw(method: string, path: string, body: string | Buffer | undefined, contentType: string) {
    if (!this.reachable) throw new Error('connect ECONNREFUSED');
    if (method !== 'PATCH') this.problems.push(`method ${method}`);
    if (path !== `/api/v1/nodes/${NODE}`) this.problems.push(`path ${path}`);
    if (contentType !== 'application/merge-patch+json') this.problems.push(`content type ${contentType}`);
    const patch = JSON.parse(String(body)) as { metadata?: { annotations?: Record<string, string> } };
    const keys = Object.keys(patch);
    if (keys.length !== 1 || keys[0] !== 'metadata') this.problems.push(`patch touches ${keys.join(',')}`);
    const r = parseNodeReport(patch.metadata?.annotations?.[ANNOTATION_NODE_REPORT]);
    if (!r || 'error' in r) this.problems.push(`annotation: ${r?.error ?? 'missing'}`);
    else this.patches.push(r);
    return { status: this.answer, body: this.answer === 200 ? {} : { message: 'nodes is forbidden' } };
  }
}

/** Figures the test moves by hand. */
class World {
  now = Date.parse('2026-12-01T00:00:00Z');
  cacheBytes = 10 * MiB;
  reason = 'Ready';
  free = 50_000 * MiB;
  depth = 0;
  dropped = 0;
  healthy = true;
  tunnel: TunnelState = 'connected';
  published: string | undefined;
  readonly offline = new OfflineWindow();

  sources(): NodeReportSources {
    return {
      agentVersion: '0.2.0',
      cacheBytes: async () => this.cacheBytes,
      cacheCondition: () => ({ writable: true, reason: this.reason, message: `cache ${this.reason}` }),
      disk: async () => ({ freeBytes: this.free, totalBytes: 100_000 * MiB }),
      journal: () => ({ depth: this.depth, bound: 5000, dropped: this.dropped }),
      offlineSeconds24h: (now) => this.offline.seconds(now),
      certNotAfter: () => Date.parse('2027-06-01T00:00:00Z'),
      tunnel: async () => this.tunnel,
      cloudHealthy: () => this.healthy,
      published: () => this.published,
    };
  }
}

let api: FakeNodeApi;
afterEach(() => {
  expect(api.problems).toEqual([]);
});

function setup(opts: { quotaBytes?: number } = {}): { w: World; r: NodeReporter } {
  api = new FakeNodeApi();
  const w = new World();
  const sources = { ...w.sources(), ...(opts.quotaBytes ? { quotaBytes: opts.quotaBytes } : {}) };
  const r = new NodeReporter(api, NODE, sources, new MemoryLogger(), { now: () => w.now });
  return { w, r };
}

describe('NodeReporter', () => {
  test('the first tick writes the whole report and counts the write and its bytes', async () => {
    const { r } = setup();
    expect(await r.tick()).toBe('written');
    expect(api.patches).toHaveLength(1);
    const p = api.patches[0] as NodeReport;
    expect(p.cache).toEqual({ bytes: 10 * MiB, health: 'Ready' });
    expect(p.disk.freeBytes).toBe(50_000 * MiB);
    expect(p.certNotAfter).toBe('2027-06-01T00:00:00Z');
    expect(p.tunnel).toBe('connected');
    expect(p.at).toBe('2026-12-01T00:00:00Z');
    expect(r.writes).toBe(1);
    // The patch body carries the report as a JSON string inside JSON: a few hundred bytes.
    expect(r.bytes).toBeGreaterThan(300);
    expect(r.bytes).toBeLessThan(600);
  });

  test('a change within the floor waits for it; nothing changed writes nothing', async () => {
    const { w, r } = setup();
    await r.tick();
    w.now += 1_000;
    expect(await r.tick()).toBe('unchanged');
    w.tunnel = 'disconnected';
    w.now += 29_000;
    expect(await r.tick()).toBe('too-soon');
    w.now += REPORT_MIN_INTERVAL_MS - 30_000;
    expect(await r.tick()).toBe('written');
    expect(api.patches.map((p) => p.tunnel)).toEqual(['connected', 'disconnected']);
  });

  test('figures move a write only past their thresholds; the refresh comes at the max interval', async () => {
    const { w, r } = setup();
    await r.tick();
    w.now += 2 * REPORT_MIN_INTERVAL_MS;
    w.cacheBytes += 0.05 * 10 * MiB; // 5 % of the cache
    w.free -= 2_000 * MiB; // 2 % of the disk
    w.depth = 100; // 2 % of the journal's bound
    expect(await r.tick()).toBe('unchanged');
    w.cacheBytes = 12 * MiB; // 20 % more than written
    expect(await r.tick()).toBe('written');
    w.now += REPORT_MAX_INTERVAL_MS - 1;
    expect(await r.tick()).toBe('unchanged');
    w.now += 1;
    expect(await r.tick()).toBe('written');
    expect(r.writes).toBe(3);
  });

  test('a change while the cloud is unreachable is queued and written on the first tick after', async () => {
    const { w, r } = setup();
    await r.tick();
    w.healthy = false;
    api.reachable = false;
    w.offline.set(false, w.now);
    w.now += 10 * 60_000;
    w.depth = 1200;
    w.dropped = 3;
    expect(await r.tick()).toBe('queued');
    expect(r.failures).toBe(0);
    w.now += 5 * 60_000;
    w.healthy = true;
    api.reachable = true;
    w.offline.set(true, w.now);
    expect(await r.tick()).toBe('written');
    const p = api.patches[1] as NodeReport;
    expect(p.journal).toEqual({ depth: 1200, bound: 5000, dropped: 3 });
    expect(p.offlineSeconds24h).toBe(15 * 60);
  });

  test('a refused write is counted as a failure and tried again on the next tick', async () => {
    const { r } = setup();
    api.answer = 403;
    expect(await r.tick()).toBe('failed');
    expect(r.failures).toBe(1);
    expect(r.writes).toBe(0);
    api.answer = 200;
    expect(await r.tick()).toBe('written');
  });

  test('a cache past its quota is reported unhealthy, with the quota', async () => {
    const { w, r } = setup({ quotaBytes: 16 * MiB });
    await r.tick();
    w.now += REPORT_MIN_INTERVAL_MS;
    w.cacheBytes = 17 * MiB;
    expect(await r.tick()).toBe('written');
    const p = api.patches[1] as NodeReport;
    expect(p.cache.health).toBe(CACHE_OVER_QUOTA);
    expect(p.cache.quotaBytes).toBe(16 * MiB);
    expect(p.cache.message).toMatch(/over its quota of 16777216 bytes/);
  });

  test('after a restart the report already on the Node is adopted, so an unchanged one is not rewritten', async () => {
    const { w, r } = setup();
    await r.tick();
    const before = api.patches[0] as NodeReport;
    const { w: w2, r: r2 } = setupWith(api, w.now + 5_000, JSON.stringify(before));
    expect(await r2.tick()).toBe('unchanged');
    w2.tunnel = 'not-installed';
    w2.now = w.now + REPORT_MIN_INTERVAL_MS;
    expect(await r2.tick()).toBe('written');
  });
});

function setupWith(fake: FakeNodeApi, now: number, published: string): { w: World; r: NodeReporter } {
  const w = new World();
  w.now = now;
  w.published = published;
  return { w, r: new NodeReporter(fake, NODE, w.sources(), new MemoryLogger(), { now: () => w.now }) };
}

describe('OfflineWindow', () => {
  const t0 = Date.parse('2026-12-01T10:00:00Z');

  test('counts the open period and closed ones, and forgets what is older than 24 h', () => {
    api = new FakeNodeApi();
    const w = new OfflineWindow();
    w.set(false, t0);
    w.set(true, t0 + 2 * HOUR); // 2 h offline
    expect(w.seconds(t0 + 3 * HOUR)).toBe(7200);
    w.set(false, t0 + 5 * HOUR);
    expect(w.seconds(t0 + 5 * HOUR + 90_000)).toBe(7200 + 90);
    w.set(true, t0 + 5 * HOUR + 90_000);
    // 24 h after the first period ended, it has left the window; the 90 s remain.
    expect(w.seconds(t0 + 26 * HOUR)).toBe(90);
    expect(w.seconds(t0 + 30 * HOUR)).toBe(0);
  });

  test('a period over an hour boundary at the window start is counted for the part inside', () => {
    api = new FakeNodeApi();
    const w = new OfflineWindow();
    w.set(false, t0);
    w.set(true, t0 + HOUR); // exactly one clock hour offline
    // Window starts half way through that hour: half of it is inside.
    expect(w.seconds(t0 + 24 * HOUR + HOUR / 2)).toBe(1800);
  });

  test('offline since start (never reached the cloud) is offline time, capped at 24 h', () => {
    api = new FakeNodeApi();
    const w = new OfflineWindow(t0);
    expect(w.seconds(t0 + 60_000)).toBe(60);
    expect(w.seconds(t0 + 48 * HOUR)).toBe(24 * 3600);
  });
});

describe('tunnel state', () => {
  let dir = '';
  let server: http.Server | undefined;
  afterEach(async () => {
    if (server) await new Promise((r) => server?.close(r));
    server = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('reads the tunnel agent metric', () => {
    api = new FakeNodeApi();
    const m = (a: number, b: number) =>
      `# TYPE edgefleet_tunnel_agent_connected gauge\nedgefleet_tunnel_agent_connected{server="a:10262"} ${a}\nedgefleet_tunnel_agent_connected{server="b:10262"} ${b}\nedgefleet_tunnel_agent_connections_total{server="a:10262"} 4\n`;
    expect(connectedFromMetrics(m(0, 1))).toBe(true);
    expect(connectedFromMetrics(m(0, 0))).toBe(false);
    expect(connectedFromMetrics('process_cpu_seconds_total 1\n')).toBeUndefined();
  });

  test('asks the agent on loopback; no answer is disconnected when installed, else not-installed', async () => {
    api = new FakeNodeApi();
    dir = await mkdtemp(join(tmpdir(), 'edgefleet-tunnel-state-'));
    const configFile = join(dir, 'tunnel-agent.yaml');
    let value = 1;
    server = http.createServer((_req, res) =>
      res.end(`edgefleet_tunnel_agent_connected{server="s:10262"} ${value}\n`),
    );
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const admin = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect(await probeTunnel({ admin, configFile })).toBe('connected');
    value = 0;
    expect(await probeTunnel({ admin, configFile })).toBe('disconnected');
    await new Promise((r) => server?.close(r));
    server = undefined;
    expect(await probeTunnel({ admin, configFile })).toBe('not-installed');
    await writeFile(configFile, '{}');
    expect(await probeTunnel({ admin, configFile })).toBe('disconnected');
  });
});
