/**
 * The tunnel as the product uses it, in a whole lab: kube-apiserver sends its `cluster` egress
 * (kubelet :10250) through the tunnel server's unix socket, and the app reaches sshd of a
 * NAT-only nspawn host through the access door. Both nodes are NAT-only: the cloud cannot dial
 * them; only their tunnel agents dialling out make logs, exec, port-forward, metrics and SSH work.
 * Two server replicas run; every agent connects to both.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRules } from '../../scripts/monitoring-rules.ts';
import { openTunnelStream, TunnelConnectError } from '../../src-agent/api/tunnel-client.ts';
import type { TunnelServerStatus } from '../../src-agent/api/tunnel-config.ts';
import { ProvisionService } from '../../src-main/provision/handlers.ts';
import { SshSession } from '../../src-main/provision/ssh-session.ts';
import { Lab } from './lab.ts';
import { promtool, promtoolVersion } from './metrics-support.ts';
import { freePort } from './proc.ts';
import { provisionKit } from './provision-support.ts';
import { sh } from './sh.ts';
import { StreamClient } from './streams-support.ts';
import { agentProc, getJson, msg, Proc, REPO, serverProc, tlsBuffers, writeJson } from './tunnel/fixtures.ts';
import { installHostTunnelAgent, TUNNEL_AGENT_UNIT } from './tunnel/host-agent.ts';
import { until } from './until.ts';

const KUBE = 'kube-1';
const EDGE = 'edge-1';
const POD = 'tunnel-app';
/** The tunnel agent's admin port (TUNNEL_AGENT_ADMIN_PORT), loopback-only on the node. */
const AGENT_ADMIN = 10266;
/** Debian's prometheus package (scripts/debian-packages.txt). */
const PROMETHEUS = '/usr/bin/prometheus';

interface Replica {
  id: string;
  config: string;
  agentPort: number;
  egressPort: number;
  accessPort: number;
  adminPort: number;
  proc: Proc | null;
}

/** A long-running kubectl (logs -f, port-forward) whose output is kept. */
class KubectlStream {
  readonly child: ChildProcess;
  out = '';
  err = '';
  constructor(kubectl: string, kubeconfig: string, args: string[]) {
    this.child = spawn(kubectl, ['--kubeconfig', kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (c: Buffer) => {
      this.out += c.toString();
    });
    this.child.stderr?.on('data', (c: Buffer) => {
      this.err += c.toString();
    });
  }
  waitOut(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return until(`kubectl output ${re}`, timeoutMs, async () => re.exec(this.out) ?? undefined).catch((e) => {
      throw new Error(`${(e as Error).message}\nstdout: ${this.out}\nstderr: ${this.err}`);
    });
  }
  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
  }
}

describe('tunnel in the lab: kube-apiserver egress and SSH to NAT-only nodes', () => {
  let dir = '';
  let lab: Lab | null = null;
  let egressUds = '';
  let claimedAddress = '';
  const replicas: Replica[] = [];
  let kubeAgent: Proc | null = null;
  const streams: KubectlStream[] = [];
  let operatorTls: { cert: Buffer; key: Buffer; ca: Buffer } | null = null;

  const must = () => {
    if (!lab) throw new Error('lab did not start (see beforeAll)');
    return lab;
  };
  const kubectl = (args: string[], input?: string) =>
    must().cluster.kubectl(args, { timeoutMs: 30_000, ...(input !== undefined ? { input } : {}) });
  const status = (r: Replica) => getJson<TunnelServerStatus>(`http://127.0.0.1:${r.adminPort}/v1/agents`);
  const nodesOn = async (r: Replica) => (await status(r)).agents.map((a) => a.node).sort();

  async function startReplica(r: Replica): Promise<void> {
    r.proc = serverProc(r.config);
    await r.proc.waitFor(msg('tunnel admin endpoint listening'), 15_000);
  }

  const hostAgent = (action: 'start' | 'stop') =>
    must().host(EDGE).run(['systemctl', action, TUNNEL_AGENT_UNIT]);

  beforeAll(async () => {
    // Short: unix socket paths (containerd, the egress socket) live under it.
    dir = await mkdtemp('/tmp/eftk-');
    egressUds = join(dir, 'egress.sock');
    const egressConfig = join(dir, 'egress-selector.yaml');
    await writeFile(
      egressConfig,
      [
        'apiVersion: apiserver.k8s.io/v1beta1',
        'kind: EgressSelectorConfiguration',
        'egressSelections:',
        '- name: cluster',
        '  connection:',
        '    proxyProtocol: HTTPConnect',
        '    transport:',
        '      uds:',
        `        udsName: ${egressUds}`,
        '',
      ].join('\n'),
    );
    // The agent bundle and runtime provisioning copies to nodes, built from this tree.
    await sh(process.execPath, [join(REPO, 'scripts/build-agent.mjs')], { cwd: REPO });
    lab = await Lab.start({
      hosts: 1,
      kubelets: 1,
      cluster: { egressSelectorConfigFile: egressConfig },
    });
    const l = lab;
    const gateway = l.net.gateway;
    claimedAddress = gateway.replace(/\.\d+$/, '.250');
    const pki = l.cluster.pki;
    const serverCert = await pki.issueServerCert('tunnel-server', 'edgefleet-tunnel-server', [
      gateway,
      '127.0.0.1',
    ]);
    const operator = await pki.issueClientCert('tunnel-operator', 'alice', ['edgefleet:operators']);
    operatorTls = await tlsBuffers(operator, pki.ca.cert);
    const serverTls = { certFile: serverCert.cert, keyFile: serverCert.key, caFile: pki.ca.cert };
    for (const id of ['a', 'b']) {
      const r: Replica = {
        id,
        config: '',
        agentPort: await freePort(),
        egressPort: await freePort(),
        accessPort: await freePort(),
        adminPort: await freePort(),
        proc: null,
      };
      r.config = await writeJson(join(dir, `server-${id}.json`), {
        serverId: `replica-${id}`,
        listen: `${gateway}:${r.agentPort}`,
        tls: serverTls,
        // Replica a is the one this kube-apiserver uses (its unix socket).
        egress: {
          ...(id === 'a' ? { uds: egressUds } : {}),
          tcp: `127.0.0.1:${r.egressPort}`,
          allowedPorts: [10250, 22, AGENT_ADMIN],
        },
        access: {
          listen: `127.0.0.1:${r.accessPort}`,
          auth: { tls: serverTls, allowedOrganizations: ['edgefleet:operators'], allowedCommonNames: [] },
        },
        admin: { listen: `127.0.0.1:${r.adminPort}` },
        // Replica b routes by node address only to what the Node objects say (item: no trust in agents' claims).
        ...(id === 'b' ? { nodeAddresses: { kubeconfig: l.kubeconfig } } : {}),
      });
      replicas.push(r);
      await startReplica(r);
    }
    const servers = replicas.map((r) => `${gateway}:${r.agentPort}`);

    // kube-1: real kubelet; its agent runs in the node's network namespace.
    const kube = l.kubelet(KUBE);
    await l.net.links.get(KUBE)?.setNatOnly(true);
    const kubeCert = await pki.issueClientCert(`tunnel-${KUBE}`, `system:node:${KUBE}`, ['system:nodes']);
    kubeAgent = agentProc(
      'agent-kube',
      kube.netns,
      await writeJson(join(dir, 'agent-kube.json'), {
        nodeName: KUBE,
        servers,
        tls: { certFile: kubeCert.cert, keyFile: kubeCert.key, caFile: pki.ca.cert },
        // An address this node does not own (nothing in the lab has it), claimed as its own.
        extraAddresses: [claimedAddress],
        // Its metrics on the node's loopback, reached through the node proxy like a hub's 10267.
        admin: { listen: `127.0.0.1:${AGENT_ADMIN}` },
        loopbackPorts: [AGENT_ADMIN],
        backoff: { initialMs: 250, maxMs: 2000 },
      }),
    );

    // edge-1: nspawn host with the agent installed and running as an installer image would leave it.
    await l.host(EDGE).setNatOnly(true);
    await installHostTunnelAgent(l, EDGE, servers, { backoff: { initialMs: 250, maxMs: 2000 } });

    for (const r of replicas) {
      await until(`both agents on replica ${r.id}`, 30_000, async () =>
        (await nodesOn(r)).join() === [EDGE, KUBE].sort().join() ? true : undefined,
      );
    }

    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: POD, namespace: 'default' },
        spec: {
          nodeName: KUBE,
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: 'app',
              image: 'registry.lab.invalid/lab-app:1',
              imagePullPolicy: 'Never',
              ports: [{ containerPort: 8080 }],
            },
          ],
        },
      }),
    );
    await until('the pod to run', 120_000, async () => {
      const phase = await kubectl(['get', 'pod', POD, '-o', 'jsonpath={.status.phase}']);
      return phase === 'Running' ? true : undefined;
    });
  }, 420_000);

  afterAll(async () => {
    for (const s of streams) s.stop();
    await kubeAgent?.stop().catch(() => {});
    for (const r of replicas) await r.proc?.stop().catch(() => {});
    await lab?.stop().catch((e: Error) => process.stderr.write(`lab stop: ${e.message}\n`));
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('both nodes are NAT-only: the cloud cannot dial kubelet or sshd directly', async () => {
    const l = must();
    for (const [address, port] of [
      [l.kubelet(KUBE).address, 10250],
      [l.host(EDGE).address, 22],
    ] as const) {
      const s = net.connect({ host: address, port });
      const outcome = await new Promise<string>((resolve) => {
        s.once('connect', () => resolve('connected'));
        s.once('error', (e) => resolve(e.message));
        setTimeout(() => resolve('timeout'), 2_000);
      });
      s.destroy();
      expect(outcome, `${address}:${port}`).not.toBe('connected');
    }
  });

  it('kubectl logs -f, exec -i, port-forward and nodes/proxy/metrics work through the tunnel', async () => {
    const l = must();
    const kubectlBin = l.cluster.binaries.kubectl;
    const follow = new KubectlStream(kubectlBin, l.kubeconfig, ['logs', '-f', POD]);
    streams.push(follow);
    await follow.waitOut(/listening on :8080/, 30_000);

    const pf = new KubectlStream(kubectlBin, l.kubeconfig, ['port-forward', `pod/${POD}`, ':8080']);
    streams.push(pf);
    const fwd = await pf.waitOut(/Forwarding from 127\.0\.0\.1:(\d+)/, 30_000);
    const body = await (await fetch(`http://127.0.0.1:${fwd[1]}/through-the-tunnel`)).text();
    expect(body.trim()).toBe(`lab-app ${POD} /through-the-tunnel`);
    // The request shows up as a new line in the still-running `logs -f`.
    await follow.waitOut(/GET \/through-the-tunnel/, 15_000);
    expect(follow.child.exitCode).toBeNull();
    pf.stop();
    follow.stop();

    const echoed = await kubectl(['exec', '-i', POD, '--', '/lab-app', 'cat'], 'hello\nthrough the tunnel\n');
    expect(echoed).toBe('cat: hello\ncat: through the tunnel\n');

    const metrics = await kubectl(['get', '--raw', `/api/v1/nodes/${KUBE}/proxy/metrics`]);
    expect(metrics).toMatch(/^kubelet_node_name\{node="kube-1"\} 1$/m);

    // Every one of those went through replica a (the API server's egress socket), to kubelet.
    const a = (await status(replicas[0] as Replica)).agents.find((x) => x.node === KUBE);
    expect(a?.streamsTotal).toBeGreaterThanOrEqual(4);
  });

  it("kube-apiserver's node proxy reaches a loopback-only /metrics on the NAT-only node (how Prometheus scrapes hubs)", async () => {
    const text = await kubectl(['get', '--raw', `/api/v1/nodes/http:${KUBE}:${AGENT_ADMIN}/proxy/metrics`]);
    expect(text).toMatch(/^edgefleet_tunnel_agent_connected\{server="[^"]+"\} 1$/m);
    if (await promtoolVersion())
      expect(await promtool(['check', 'metrics'], text)).toEqual({ code: 0, output: '' });
  });

  it.skipIf(!existsSync(PROMETHEUS))(
    "Debian's Prometheus scrapes the NAT-only node through the tunnel with the shipped rules loaded",
    async () => {
      const l = must();
      const cert = await l.cluster.pki.issueClientCert('prometheus', 'prometheus', ['system:masters']);
      const api = new URL(l.cluster.apiServerUrl);
      const port = await freePort();
      const config = join(dir, 'prometheus.yaml');
      await writeFile(
        config,
        JSON.stringify({
          global: { scrape_interval: '2s', evaluation_interval: '2s' },
          rule_files: [join(REPO, 'resources/monitoring/edgefleet-rules.yaml')],
          scrape_configs: [
            {
              // The shipped example's relabelling, with the lab's API server and a client certificate.
              job_name: 'edgefleet-tunnel-agent',
              scheme: 'https',
              static_configs: [{ targets: [KUBE] }],
              tls_config: { ca_file: l.cluster.caCertPath, cert_file: cert.cert, key_file: cert.key },
              relabel_configs: [
                { source_labels: ['__address__'], target_label: 'node' },
                { source_labels: ['__address__'], target_label: 'instance' },
                {
                  source_labels: ['__address__'],
                  regex: '(.+)',
                  target_label: '__metrics_path__',
                  replacement: `/api/v1/nodes/http:\${1}:${AGENT_ADMIN}/proxy/metrics`,
                },
                { target_label: '__address__', replacement: api.host },
              ],
            },
          ],
        }),
      );
      const prom = new Proc('prometheus', PROMETHEUS, [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ]);
      try {
        const q = async (query: string) =>
          (
            await getJson<{
              data: { result: { metric: Record<string, string>; value: [number, string] }[] };
            }>(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(query)}`)
          ).data.result;
        await until('Prometheus to scrape the agent through the node proxy', 90_000, async () => {
          const up = await q('up{job="edgefleet-tunnel-agent"}').catch(() => []);
          return up[0]?.value[1] === '1' ? true : undefined;
        });
        const connected = await q('edgefleet_tunnel_agent_connected');
        expect(connected.length).toBe(2);
        for (const c of connected) {
          expect(c.metric.node).toBe(KUBE);
          expect(c.value[1]).toBe('1');
        }
        const rules = await getJson<{ data: { groups: { rules: { name: string; health: string }[] }[] } }>(
          `http://127.0.0.1:${port}/api/v1/rules`,
        );
        const loaded = rules.data.groups.flatMap((g) => g.rules);
        expect(loaded.length).toBe(readRules().groups.reduce((n, g) => n + g.rules.length, 0));
        expect(loaded.every((r) => r.health !== 'err')).toBe(true);
      } finally {
        await prom.stop();
      }
    },
    180_000,
  );

  it("the app's log stream and exec reach the pod on the NAT-only kubelet through the egress", async () => {
    const app = StreamClient.forKubeconfig(must().kubeconfig);
    const open = { clusterId: 'lab/admin', namespace: 'default', pod: POD } as const;
    const follow = await app.call('streams:podLogs', { ...open, follow: true });
    await app.waitLine(follow.streamId, /listening on :8080/);
    await kubectl(['exec', POD, '--', '/lab-app', 'get', '127.0.0.1', '8080', '/app-stream']);
    const line = await app.waitLine(follow.streamId, /GET \/app-stream/);
    expect(line.ts).toMatch(/^\d{4}-\d\d-\d\dT/);
    await app.call('streams:close', { streamId: follow.streamId });
    expect((await app.waitEnd(follow.streamId)).reason).toBe('closed');
    const echo = await app.call('streams:exec', {
      ...open,
      command: ['/lab-app', 'echo', 'via', 'tunnel'],
      stdin: false,
    });
    expect(await app.waitEnd(echo.streamId)).toMatchObject({ reason: 'ended', exitCode: 0 });
    expect(app.rec(echo.streamId).stdout).toBe('via tunnel\n');
  });

  it('SSH to the NAT-only host through the access door, host key verified', async () => {
    const l = must();
    const kit = await provisionKit(l);
    try {
      const host = l.host(EDGE);
      await kit.knownHosts.trust(EDGE, 22, 'ssh-ed25519', host.hostKeyFingerprint());
      const door = { host: '127.0.0.1', port: replicas[0]?.accessPort ?? 0, tls: operatorTls ?? undefined };
      const sock = await openTunnelStream(door, `${EDGE}:22`);
      const session = await SshSession.connect(
        { host: EDGE, username: 'root', auth: { kind: 'key', privateKeyRef: kit.keyRef } },
        { vault: kit.vault, knownHosts: kit.knownHosts, sock },
      );
      try {
        const r = await session.exec('hostname; systemctl is-active edgefleet-tunnel-agent');
        expect(r.stdout.trim().split('\n')).toEqual([EDGE, 'active']);
      } finally {
        session.close();
      }
      // A different pinned key is a hard stop, through the tunnel as directly.
      const wrong = await provisionKit(l);
      await wrong.knownHosts.trust(
        EDGE,
        22,
        'ssh-ed25519',
        'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      );
      const sock2 = await openTunnelStream(door, `${EDGE}:22`);
      await expect(
        SshSession.connect(
          { host: EDGE, username: 'root', auth: { kind: 'key', privateKeyRef: wrong.keyRef } },
          { vault: wrong.vault, knownHosts: wrong.knownHosts, sock: sock2 },
        ),
      ).rejects.toThrow(/host key of edge-1:22 changed/);
      await rm(wrong.dir, { recursive: true, force: true });
    } finally {
      await rm(kit.dir, { recursive: true, force: true });
    }
  });

  it("the app reads the NAT-only host's tunnel agent journal over SSH through the access door", async () => {
    const l = must();
    const kit = await provisionKit(l);
    try {
      const provision = new ProvisionService({
        vault: kit.vault,
        emit: () => {},
        dataDir: join(kit.dir, 'provision'),
        resourcesDir: join(kit.dir, 'resources'),
        kubeConfigFor: () => Promise.reject(new Error('unused')),
        log: () => {},
      });
      const pki = l.cluster.pki;
      const operator = await pki.issueClientCert('tunnel-operator-app', 'alice', ['edgefleet:operators']);
      await provision.hosts.setTunnel({
        site: 'lab',
        door: { host: '127.0.0.1', port: replicas[0]?.accessPort ?? 0 },
        caPem: await readFile(pki.ca.cert, 'utf8'),
        certPem: await readFile(operator.cert, 'utf8'),
        keyRef: await kit.vault.put('tunnel-client-key', 'lab', await readFile(operator.key, 'utf8')),
      });
      const host = await provision.hosts.add({
        site: 'lab',
        name: EDGE,
        address: EDGE,
        port: 22,
        user: 'root',
        auth: { kind: 'key', privateKeyRef: kit.keyRef },
        viaTunnel: true,
      });
      await provision.knownHosts.trust(EDGE, 22, 'ssh-ed25519', l.host(EDGE).hostKeyFingerprint());
      const app = new StreamClient({ openSsh: (id) => provision.openSession(id) });
      const s = await app.call('streams:serviceLogs', {
        hostId: host.id,
        unit: 'edgefleet-tunnel-agent',
        lines: 500,
      });
      expect(await app.waitEnd(s.streamId)).toEqual({ streamId: s.streamId, reason: 'ended' });
      const lines = app.rec(s.streamId).lines;
      expect(lines.length).toBeGreaterThan(0);
      for (const x of lines) expect(x.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    } finally {
      await rm(kit.dir, { recursive: true, force: true });
    }
  });

  it('a metrics scraper reads kubelet /metrics through a replica (CONNECT, then its own TLS)', async () => {
    const l = must();
    const scraper = await l.cluster.pki.issueClientCert('tunnel-scraper', 'edgefleet-metrics', [
      'system:masters',
    ]);
    const creds = await tlsBuffers(scraper, l.cluster.pki.ca.cert);
    const b = replicas[1] as Replica;
    // By the Node's InternalIP, as Prometheus' node discovery would (the lab kubelet listens there only).
    const raw = await openTunnelStream(
      { host: '127.0.0.1', port: b.egressPort },
      `${l.kubelet(KUBE).address}:10250`,
    );
    const body = await new Promise<string>((resolve, reject) => {
      const req = https.get(
        {
          path: '/metrics',
          // The kubelet's serving certificate is self-signed in the lab; the tunnel is what is under test.
          createConnection: () =>
            tls.connect({ socket: raw, cert: creds.cert, key: creds.key, rejectUnauthorized: false }),
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', () =>
            res.statusCode === 200 ? resolve(text) : reject(new Error(`${res.statusCode}: ${text}`)),
          );
        },
      );
      req.on('error', reject);
    });
    expect(body).toMatch(/^kubelet_node_name\{node="kube-1"\} 1$/m);
  });

  it('with nodeAddresses, a server routes by IP only to addresses the Node object owns', async () => {
    const l = must();
    const [a, b] = replicas as [Replica, Replica];
    const kubeIp = l.kubelet(KUBE).address;
    const onA = (await status(a)).agents.find((x) => x.node === KUBE);
    expect(onA?.addressSource).toBe('agent');
    expect(onA?.addresses).toEqual(expect.arrayContaining([kubeIp, claimedAddress]));
    const onB = await status(b);
    expect(onB.agents.find((x) => x.node === KUBE)).toMatchObject({
      addressSource: 'node',
      addresses: [kubeIp],
    });
    // edge-1 has no Node object: reachable by name, not by any address.
    expect(onB.agents.find((x) => x.node === EDGE)?.addresses).toEqual([]);
    const door = { host: '127.0.0.1', port: b.egressPort };
    await expect(openTunnelStream(door, `${claimedAddress}:10250`)).rejects.toMatchObject({
      status: 503,
      reason: expect.stringMatching(new RegExp(`no tunnel agent is connected for ${claimedAddress}`)),
    });
    await expect(openTunnelStream(door, `${l.host(EDGE).address}:22`)).rejects.toMatchObject({
      status: 503,
    });
    const s = await openTunnelStream(door, `${kubeIp}:10250`);
    s.destroy();
    const ssh = await openTunnelStream(door, `${EDGE}:22`);
    ssh.destroy();
  });

  it('two replicas: streams through either reach the node; killing one leaves the other working', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const banner = async (r: Replica) => {
      const s = await openTunnelStream({ host: '127.0.0.1', port: r.egressPort }, `${EDGE}:22`);
      const line = await new Promise<string>((resolve, reject) => {
        s.once('data', (c: Buffer) => resolve(c.toString('latin1')));
        s.once('error', reject);
      });
      s.destroy();
      return line;
    };
    expect(await banner(a)).toMatch(/^SSH-2\.0-OpenSSH/);
    expect(await banner(b)).toMatch(/^SSH-2\.0-OpenSSH/);
    await a.proc?.stop('SIGKILL');
    await expect(banner(a)).rejects.toMatchObject({ status: 0 });
    // b never noticed: same connections, still serving both nodes.
    expect(await banner(b)).toMatch(/^SSH-2\.0-OpenSSH/);
    expect(await nodesOn(b)).toEqual([EDGE, KUBE].sort());
    // a comes back; the agents reconnect to it on their own.
    const restarted = Date.now();
    await startReplica(a);
    await until('both agents back on replica a', 20_000, async () =>
      (await nodesOn(a)).join() === [EDGE, KUBE].sort().join() ? true : undefined,
    );
    expect(Date.now() - restarted).toBeLessThan(20_000);
    expect(await banner(a)).toMatch(/^SSH-2\.0-OpenSSH/);
    // kubectl works again through a (the API server's socket).
    expect(await kubectl(['exec', POD, '--', '/lab-app', 'echo', 'back'])).toBe('back\n');
  });

  it('with the tunnel agents stopped, kubectl and SSH fail with a clear error', async () => {
    await kubeAgent?.stop();
    await hostAgent('stop');
    await until('agents gone from replica a', 10_000, async () =>
      (await nodesOn(replicas[0] as Replica)).length === 0 ? true : undefined,
    );
    const logsErr = await kubectl(['logs', POD]).catch((e: Error) => e);
    expect(logsErr).toBeInstanceOf(Error);
    console.log(`kubectl logs without the agent: ${(logsErr as Error).message}`);
    expect((logsErr as Error).message).toMatch(/no tunnel agent is connected/);
    const execErr = await kubectl(['exec', POD, '--', '/lab-app', 'echo', 'x']).catch((e: Error) => e);
    expect((execErr as Error).message).toMatch(/no tunnel agent is connected/);
    // The app says the same as a value with what to do about it.
    const app = StreamClient.forKubeconfig(must().kubeconfig);
    await expect(
      app.call('streams:podLogs', { clusterId: 'lab/admin', namespace: 'default', pod: POD }),
    ).rejects.toMatchObject({
      code: 'kube/node-unreachable',
      message: expect.stringMatching(/no tunnel agent is connected/),
      fix: expect.stringMatching(/tunnel agent/),
    });

    const door = { host: '127.0.0.1', port: replicas[0]?.accessPort ?? 0, tls: operatorTls ?? undefined };
    const sshErr = await openTunnelStream(door, `${EDGE}:22`).catch((e: unknown) => e);
    expect(sshErr).toBeInstanceOf(TunnelConnectError);
    expect((sshErr as TunnelConnectError).status).toBe(503);
    expect((sshErr as TunnelConnectError).reason).toMatch(/no tunnel agent is connected for edge-1/);
  });
});
