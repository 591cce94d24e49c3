/**
 * Every agent role's /metrics, scraped live in the lab: a hub against the real API server (through
 * a cuttable uplink), a tunnel server with an agent in a NAT-only host namespace, and the
 * controller as its own process. Each scrape passes `promtool check metrics` with no finding,
 * exposes only documented metrics (docs/metrics.md), and its values move with what the test does.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_CATALOGS } from '../../scripts/metrics-doc.ts';
import { openTunnelStream } from '../../src-agent/api/tunnel-client.ts';
import { Hub } from '../../src-agent/hub/hub.ts';
import { MemoryLogger } from '../../src-agent/hub/log.ts';
import type { Cluster } from './cluster.ts';
import { type ControllerProcess, installCrds, startControllerProcess } from './controller-support.ts';
import { LoopbackLink, loopbackHubConfig, startHubLabCluster } from './hub-support.ts';
import { metricFamilies, parseMetricsText, promtool, promtoolVersion } from './metrics-support.ts';
import { type HostLink, LabNetwork } from './net.ts';
import { freePort } from './proc.ts';
import {
  agentProc,
  echoRoundTrip,
  makeTunnelPki,
  msg,
  type Proc,
  serverProc,
  targetsProc,
  writeJson,
} from './tunnel/fixtures.ts';
import { until } from './until.ts';

const version = await promtoolVersion();
if (!version) {
  console.warn(
    'metrics lab test skipped: promtool is not installed (Debian package prometheus; scripts/env.sh installs it as root)',
  );
}

const NODE = 'metrics-node';
const EDGE = 'edge-m';
const ECHO = 7101;
const KUBELET_UA = 'kubelet/v1.36.3 (linux/amd64) kubernetes/metrics';

/** The documented metric names of a role plus the process metrics every role has. */
function documented(role: string): Set<string> {
  return new Set(
    ROLE_CATALOGS.filter((r) => r.role === role || r.prefix === null).flatMap((r) =>
      Object.values(r.catalog).map((d) => d.name),
    ),
  );
}

/** promtool's lint passes with no finding and every family is one docs/metrics.md lists for the role. */
async function checkScrape(role: string, text: string): Promise<Map<string, number>> {
  const verdict = await promtool(['check', 'metrics'], text);
  expect(verdict, `promtool check metrics on the ${role} scrape`).toEqual({ code: 0, output: '' });
  const known = documented(role);
  const undocumented = [...metricFamilies(text).keys()].filter((n) => !known.has(n));
  expect(undocumented, `${role} metrics missing from docs/metrics.md`).toEqual([]);
  return parseMetricsText(text);
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return res.text();
}

describe.skipIf(!version)('every role exposes checked metrics that follow what happens (lab)', () => {
  let dir = '';
  let cluster: Cluster | undefined;
  let link: LoopbackLink | undefined;
  let hub: Hub | undefined;
  let controller: ControllerProcess | undefined;
  let net0: LabNetwork | undefined;
  let edge: HostLink;
  let server: Proc | undefined;
  let agent: Proc | undefined;
  let targets: Proc | undefined;
  let serverAdmin = 0;
  let agentAdmin = 0;
  let egressPort = 0;

  const hubScrape = async () => checkScrape('hub', await scrape(`http://${hub?.adminAddress}/metrics`));
  const serverScrape = async () =>
    checkScrape('tunnel-server', await scrape(`http://127.0.0.1:${serverAdmin}/metrics`));
  const agentScrape = async () =>
    checkScrape(
      'tunnel-agent',
      await edge.nsExec('curl', [
        '-sS',
        '--fail',
        '--max-time',
        '5',
        `http://127.0.0.1:${agentAdmin}/metrics`,
      ]),
    );
  const controllerScrape = async () =>
    checkScrape('controller', await scrape(`http://127.0.0.1:${controller?.metricsPort}/metrics`));

  beforeAll(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'edgefleet-metrics-lab-'));
    cluster = await startHubLabCluster(dir);
    await installCrds(cluster);
    await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } }),
    });

    const cert = await cluster.pki.issueClientCert('metrics-node', `system:node:${NODE}`, ['system:nodes']);
    link = new LoopbackLink(Number(new URL(cluster.apiServerUrl).port));
    await link.up();
    const config = await loopbackHubConfig({
      nodeName: NODE,
      server: `https://127.0.0.1:${link.port}`,
      cert,
      caFile: cluster.caCertPath,
      dir,
    });
    hub = await Hub.start(config, { log: new MemoryLogger() });

    controller = await startControllerProcess(cluster, 'metrics-controller', cluster.kubeconfigPath);

    net0 = await LabNetwork.create(randomBytes(2).toString('hex'));
    edge = await net0.addHost(EDGE, 1);
    await edge.setNatOnly(true);
    const pki = await makeTunnelPki(dir, [edge.gateway, '127.0.0.1']);
    const agentPort = await freePort();
    egressPort = await freePort();
    serverAdmin = await freePort();
    agentAdmin = await freePort();
    const serverConfig = await writeJson(join(dir, 'tunnel-server.json'), {
      serverId: 'metrics-server',
      listen: `${edge.gateway}:${agentPort}`,
      tls: { certFile: pki.server.cert, keyFile: pki.server.key, caFile: pki.pki.ca.cert },
      egress: { tcp: `127.0.0.1:${egressPort}`, allowedPorts: [ECHO] },
      admin: { listen: `127.0.0.1:${serverAdmin}` },
    });
    const agentCert = await pki.agent(EDGE);
    const agentConfig = await writeJson(join(dir, 'tunnel-agent.json'), {
      nodeName: EDGE,
      servers: [`${edge.gateway}:${agentPort}`],
      tls: { certFile: agentCert.cert, keyFile: agentCert.key, caFile: pki.pki.ca.cert },
      allowedPorts: [ECHO],
      admin: { listen: `127.0.0.1:${agentAdmin}` },
    });
    targets = await targetsProc(edge.netns, { echo: [ECHO] });
    server = serverProc(serverConfig);
    await server.waitFor(msg('tunnel admin endpoint listening'), 15_000);
    agent = agentProc('agent', edge.netns, agentConfig);
    await agent.waitFor(msg('connected to tunnel server'), 15_000);
  });

  afterAll(async () => {
    const errors: string[] = [];
    const step = async (what: string, f: () => Promise<unknown> | undefined) => {
      await Promise.resolve(f()).catch((e: Error) => errors.push(`${what}: ${e.message}`));
    };
    await step('agent', () => agent?.stop());
    await step('server', () => server?.stop());
    await step('targets', () => targets?.stop());
    await step('network', () => net0?.destroy());
    await step('hub', () => hub?.close());
    await step('uplink', () => link?.cut());
    await step('cluster', () => cluster?.stop());
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
    if (errors.length) throw new Error(errors.join('; '));
  });

  it('hub: requests are counted by component, verb and resource; a cut link turns cloud health to 0 and reads to cache hits', async () => {
    const h = hub as Hub;
    const series = 'edgefleet_hub_requests_total{component="kubelet",verb="list",resource="pods",code="200"}';
    const before = (await hubScrape()).get(series) ?? 0;
    const list = () =>
      fetch(`http://${h.proxyAddress}/api/v1/pods?fieldSelector=spec.nodeName%3D${NODE}`, {
        headers: { 'user-agent': KUBELET_UA, accept: 'application/json' },
      });
    const getNode = () =>
      fetch(`http://${h.proxyAddress}/api/v1/nodes/${NODE}`, {
        headers: { 'user-agent': KUBELET_UA, accept: 'application/json' },
      });
    for (let i = 0; i < 3; i++) expect((await list()).status).toBe(200);
    expect((await getNode()).status).toBe(200);
    let m = await hubScrape();
    expect(m.get(series)).toBe(before + 3);
    expect(m.get('edgefleet_hub_cloud_healthy')).toBe(1);
    expect(m.get('edgefleet_hub_uplink_received_bytes_total')).toBeGreaterThan(0);
    expect(m.get('edgefleet_hub_journal_capacity_entries')).toBe(1000);
    const expiry = m.get('edgefleet_hub_client_certificate_expiry_timestamp_seconds') ?? 0;
    expect(expiry).toBeGreaterThan(Date.now() / 1000);
    const free = m.get('edgefleet_hub_disk_free_bytes') ?? 0;
    expect(free).toBeGreaterThan(0);
    expect(m.get('edgefleet_hub_disk_size_bytes')).toBeGreaterThanOrEqual(free);

    const hitsBefore = m.get('edgefleet_hub_cache_hits_total') ?? 0;
    await h.cache.idle();
    await (link as LoopbackLink).cut();
    await h.probeNow();
    expect((await getNode()).status).toBe(200);
    m = await hubScrape();
    expect(m.get('edgefleet_hub_cloud_healthy')).toBe(0);
    expect(m.get('edgefleet_hub_cache_hits_total')).toBeGreaterThan(hitsBefore);
    expect(
      m.get('edgefleet_hub_request_duration_seconds_count{verb="get",served_by="cache"}'),
    ).toBeGreaterThan(0);
    await until('the hub to count offline seconds', 30_000, async () =>
      ((await hubScrape()).get('edgefleet_hub_offline_seconds_total') ?? 0) > 0 ? true : undefined,
    );

    await (link as LoopbackLink).up();
    await until('the hub to see the cloud again', 60_000, async () => {
      await h.probeNow();
      return (await hubScrape()).get('edgefleet_hub_cloud_healthy') === 1 ? true : undefined;
    });
  });

  it('tunnel: server and agent count the connection and a stream; the agent leaving turns connected to 0', async () => {
    let s = await serverScrape();
    let a = await agentScrape();
    const serverKey = [...a.keys()].find((k) => k.startsWith('edgefleet_tunnel_agent_connected{'));
    expect(serverKey).toBeDefined();
    expect(a.get(serverKey as string)).toBe(1);
    const label = (serverKey as string).slice('edgefleet_tunnel_agent_connected'.length);
    expect(a.get(`edgefleet_tunnel_agent_connections_total${label}`)).toBe(1);
    expect(s.get('edgefleet_tunnel_server_agents_connected')).toBe(1);
    expect(s.get(`edgefleet_tunnel_server_agent_connected{node="${EDGE}"}`)).toBe(1);
    const serverStreams = s.get(`edgefleet_tunnel_server_agent_streams_total{node="${EDGE}"}`) ?? 0;
    const agentStreams = a.get(`edgefleet_tunnel_agent_streams_total${label}`) ?? 0;

    const stream = await openTunnelStream(
      { host: '127.0.0.1', port: egressPort, timeoutMs: 15_000 },
      `${EDGE}:${ECHO}`,
    );
    const payload = randomBytes(64 * 1024);
    expect((await echoRoundTrip(stream, payload)).equals(payload)).toBe(true);
    stream.destroy();
    s = await serverScrape();
    a = await agentScrape();
    expect(s.get(`edgefleet_tunnel_server_agent_streams_total{node="${EDGE}"}`)).toBe(serverStreams + 1);
    expect(a.get(`edgefleet_tunnel_agent_streams_total${label}`)).toBe(agentStreams + 1);
    expect(a.get(`edgefleet_tunnel_agent_received_bytes_total${label}`)).toBeGreaterThan(payload.length);
    expect(s.get(`edgefleet_tunnel_server_agent_received_bytes_total{node="${EDGE}"}`)).toBeGreaterThan(
      payload.length,
    );

    const disconnects = s.get('edgefleet_tunnel_server_agent_disconnects_total') ?? 0;
    await agent?.stop();
    await until('the server to see the agent gone', 30_000, async () =>
      (await serverScrape()).get(`edgefleet_tunnel_server_agent_connected{node="${EDGE}"}`) === 0
        ? true
        : undefined,
    );
    s = await serverScrape();
    expect(s.get('edgefleet_tunnel_server_agents_connected')).toBe(0);
    expect(s.get('edgefleet_tunnel_server_agent_disconnects_total')).toBe(disconnects + 1);
    expect(s.has(`edgefleet_tunnel_server_agent_streams_open{node="${EDGE}"}`)).toBe(false);
  });

  it('controller: leadership, and a NodePool change counted as a reconcile with its duration', async () => {
    const c = cluster as Cluster;
    await until('the controller to lead', 60_000, async () =>
      (await controllerScrape().catch(() => undefined))?.get('edgefleet_controller_leader') === 1
        ? true
        : undefined,
    );
    const ok = 'edgefleet_controller_reconcile_total{controller="nodepool",result="success"}';
    const count = 'edgefleet_controller_reconcile_duration_seconds_count{controller="nodepool"}';
    const before = await controllerScrape();
    await c.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'apps.openyurt.io/v1beta2',
        kind: 'NodePool',
        metadata: { name: 'metrics-pool' },
        spec: { type: 'Edge' },
      }),
    });
    await until('a nodepool reconcile to be counted', 60_000, async () =>
      ((await controllerScrape()).get(ok) ?? 0) > (before.get(ok) ?? 0) ? true : undefined,
    );
    const after = await controllerScrape();
    expect(after.get(count)).toBeGreaterThan(before.get(count) ?? 0);
    expect(after.get('edgefleet_controller_workqueue_depth{controller="nodepool"}')).toBeGreaterThanOrEqual(
      0,
    );
    expect(after.get('process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});
