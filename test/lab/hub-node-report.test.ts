/**
 * The node report (issue 12) against the real kube-apiserver (Node authorizer + NodeRestriction):
 * the hub publishes `edgefleet.io/node-report` on its own Node with its node certificate, rewrites
 * it when the cache grows past a test quota, writes nothing when nothing changed (the hub's write
 * counter and the annotation are the evidence), and writes a change seen offline on reconnect.
 *
 * The hub's ticks are driven by the test (heartbeat 3600 s) and its floor between writes is 2 s
 * instead of 60 s (the `nodeReportMinIntervalMs` test hook), so the test does not wait minutes.
 * The tunnel agent is a stand-in serving the agent's real metric on loopback: the tunnel itself
 * is not what is tested here (tunnel-kube.test.ts runs the real one).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION_NODE_REPORT, type NodeReport, parseNodeReport } from '../../src-agent/api/node-report.ts';
import { Hub } from '../../src-agent/hub/hub.ts';
import { MemoryLogger } from '../../src-agent/hub/log.ts';
import { CACHE_OVER_QUOTA } from '../../src-agent/hub/node-report.ts';
import type { Cluster } from './cluster.ts';
import {
  LoopbackLink,
  loopbackHubConfig,
  requestText,
  startHubLabCluster,
  waitForDefaultServiceAccount,
} from './hub-support.ts';
import { freePort } from './proc.ts';
import { until } from './until.ts';

const NODE = 'report-node-1';
const OTHER = 'report-node-2';
const KUBELET = 'kubelet/v1.36.3 (linux/amd64) kubernetes/lab';
const QUOTA = 256 * 1024;
const FLOOR_MS = 2_000;

let dir = '';
let cluster: Cluster | undefined;
let hub: Hub | undefined;
let link: LoopbackLink | undefined;
let tunnelAgent: http.Server | undefined;
let tunnelAdmin = '';
let nodeCert: { cert: string; key: string };
const log = new MemoryLogger();

async function published(name = NODE): Promise<{ text: string | undefined; rv: string }> {
  const n = await (cluster as Cluster).kubectlJson<{
    metadata: { resourceVersion: string; annotations?: Record<string, string> };
  }>(['get', 'node', name, '-o', 'json']);
  return { text: n.metadata.annotations?.[ANNOTATION_NODE_REPORT], rv: n.metadata.resourceVersion };
}

async function report(): Promise<NodeReport> {
  const r = parseNodeReport((await published()).text);
  if (!r || 'error' in r) throw new Error(`no report on ${NODE}: ${r?.error ?? 'annotation absent'}`);
  return r;
}

/** A counter of the hub's own /metrics. */
async function hubCounter(name: string): Promise<number> {
  const [host, port] = (hub as Hub).adminAddress.split(':');
  const res = await requestText(http, { host, port, path: '/metrics' });
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(res.body);
  if (!m) throw new Error(`${name} not in the hub's /metrics`);
  return Number(m[1]);
}

/** The tunnel agent's admin endpoint on loopback as the real agent serves it (one server replica). */
async function startTunnelAgentStandIn(connected: 0 | 1): Promise<void> {
  const [host, port] = tunnelAdmin.split(':');
  tunnelAgent = http.createServer((_req, res) =>
    res.end(
      `# TYPE edgefleet_tunnel_agent_connected gauge\nedgefleet_tunnel_agent_connected{server="198.18.0.1:10262"} ${connected}\n`,
    ),
  );
  await new Promise<void>((r) => tunnelAgent?.listen(Number(port), host, r));
}

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'edgefleet-node-report-'));
  cluster = await startHubLabCluster(dir);
  await waitForDefaultServiceAccount(cluster, 'default', 120, 500);
  await cluster.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [NODE, OTHER].map((name) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name } })),
    }),
  });
  nodeCert = await cluster.pki.issueClientCert(NODE, `system:node:${NODE}`, ['system:nodes']);
  link = new LoopbackLink(Number(new URL(cluster.apiServerUrl).port));
  await link.up();
  tunnelAdmin = `127.0.0.1:${await freePort()}`;
  const config = await loopbackHubConfig({
    nodeName: NODE,
    server: `https://127.0.0.1:${link.port}`,
    cert: nodeCert,
    caFile: cluster.caCertPath,
    dir,
    extra: {
      cacheQuotaBytes: QUOTA,
      tunnelAgent: { admin: tunnelAdmin, configFile: join(dir, 'no-tunnel-agent.yaml') },
    },
  });
  hub = await Hub.start(config, { log, nodeReportMinIntervalMs: FLOOR_MS });
});

afterAll(async () => {
  try {
    await hub?.close();
    await link?.cut();
    if (tunnelAgent?.listening) await new Promise((r) => tunnelAgent?.close(r));
  } finally {
    await cluster?.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

describe('node report on a real API server', () => {
  it('appears on the Node, written with the node certificate, with the figures the hub has', async () => {
    const r = await until('the node report on the Node', 30_000, () => report().catch(() => undefined));
    expect(r.agentVersion).toBe('dev');
    expect(r.cache.health).toBe('Ready');
    expect(r.cache.quotaBytes).toBe(QUOTA);
    expect(r.cache.bytes).toBeLessThan(QUOTA);
    expect(r.tunnel).toBe('not-installed');
    expect(r.journal).toEqual({ depth: 0, bound: 1000, dropped: 0 });
    const s = await fsp.statfs(join(dir, 'hub', 'cache'));
    expect(r.disk.totalBytes).toBe(s.blocks * s.bsize);
    expect(r.disk.freeBytes).toBeGreaterThan(0);
    const notAfter = Date.parse(new X509Certificate(readFileSync(nodeCert.cert)).validTo);
    expect(Date.parse(r.certNotAfter ?? '')).toBe(Math.floor(notAfter / 1000) * 1000);
    expect(await hubCounter('edgefleet_hub_node_report_writes_total')).toBe(1);
    expect(await hubCounter('edgefleet_hub_node_report_write_failures_total')).toBe(0);
  });

  it('the Node authorizer and NodeRestriction keep a node to its own annotation', async () => {
    const u = new URL((cluster as Cluster).apiServerUrl);
    const res = await requestText(
      https,
      {
        host: u.hostname,
        port: u.port,
        method: 'PATCH',
        path: `/api/v1/nodes/${OTHER}`,
        ca: readFileSync((cluster as Cluster).caCertPath),
        cert: readFileSync(nodeCert.cert),
        key: readFileSync(nodeCert.key),
        headers: { 'content-type': 'application/merge-patch+json' },
      },
      JSON.stringify({ metadata: { annotations: { [ANNOTATION_NODE_REPORT]: '{}' } } }),
    );
    expect(res.status).toBe(403);
    // NodeRestriction's answer (the Node authorizer alone would let any node patch any Node).
    expect((JSON.parse(res.body) as { message: string }).message).toContain(
      `node "${NODE}" is not allowed to modify node "${OTHER}"`,
    );
    expect((await published(OTHER)).text).toBeUndefined();
  });

  it('is not rewritten while nothing changed', async () => {
    const before = await published();
    const bytes = await hubCounter('edgefleet_hub_node_report_written_bytes_total');
    for (let i = 0; i < 3; i++) expect(await hub?.nodeReport.tick()).toBe('unchanged');
    expect(await hubCounter('edgefleet_hub_node_report_writes_total')).toBe(1);
    expect(await hubCounter('edgefleet_hub_node_report_written_bytes_total')).toBe(bytes);
    expect((await published()).text).toBe(before.text);
    process.stderr.write(`node report: one write = ${bytes} bytes of merge patch\n`);
  });

  it('moves when the cache grows past its quota', async () => {
    // Five Pods bound to the node with 100 KiB annotations, listed through the hub as kubelet
    // (a node may list only its own pods): the hub caches them, about 500 KiB on disk.
    const big = 'x'.repeat(100 * 1024);
    await (cluster as Cluster).kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [1, 2, 3, 4, 5].map((i) => ({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `filler-${i}`, namespace: 'default', annotations: { 'lab/filler': big } },
          spec: { nodeName: NODE, containers: [{ name: 'c', image: 'example.invalid/none:1' }] },
        })),
      }),
    });
    const [host, port] = (hub as Hub).proxyAddress.split(':');
    const list = await requestText(http, {
      host,
      port,
      path: `/api/v1/pods?fieldSelector=spec.nodeName%3D${NODE}`,
      headers: { 'user-agent': KUBELET },
    });
    expect(list.status).toBe(200);
    await hub?.cache.idle(10_000);
    // The floor may not have passed since the first write: 'too-soon' until it has.
    await until(
      'the report to be rewritten',
      30_000,
      async () => (await hub?.nodeReport.tick()) === 'written',
    );
    const r = await report();
    expect(r.cache.bytes).toBeGreaterThan(QUOTA);
    expect(r.cache.health).toBe(CACHE_OVER_QUOTA);
    expect(r.cache.message).toContain(`over its quota of ${QUOTA} bytes`);
    expect(await hubCounter('edgefleet_hub_node_report_writes_total')).toBe(2);
  });

  it('a change seen while the cloud is unreachable is written on reconnect', async () => {
    // Past the floor first, so the write on reconnect is not put off by the previous one.
    await until(
      'the floor since the last write to pass',
      10_000,
      async () => {
        return Date.now() - (hub as Hub).nodeReport.lastWriteAt >= FLOOR_MS;
      },
      100,
    );
    await link?.cut();
    await hub?.probeNow();
    expect(hub?.isCloudHealthy()).toBe(false);
    await startTunnelAgentStandIn(1);
    expect(await hub?.nodeReport.tick()).toBe('queued');
    expect((await report()).tunnel).toBe('not-installed');
    await link?.up();
    await hub?.probeNow();
    await hub?.probeNow();
    expect(hub?.isCloudHealthy()).toBe(true);
    // Reconnecting ticks the reporter by itself; the test only waits for the result.
    const r = await until('the queued report on the Node', 30_000, async () => {
      const x = await report();
      return x.tunnel === 'connected' ? x : undefined;
    });
    expect(r.offlineSeconds24h).toBeGreaterThanOrEqual(0);
    expect(await hubCounter('edgefleet_hub_node_report_writes_total')).toBe(3);
  });
});
