import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubConfig, UpstreamStrategy } from '../../src-agent/api/hub-config.ts';
import { Hub } from '../../src-agent/hub/hub.ts';
import { MemoryLogger } from '../../src-agent/hub/log.ts';
import { openWatch } from '../../src-agent/hub/test-support/hub-client.ts';
import { APP_IMAGE } from './images.ts';
import { Lab } from './lab.ts';
import { freePort } from './proc.ts';
import { until } from './until.ts';

/**
 * The hub's streaming paths and upstream choice against the real kube-apiserver (issue 3):
 * kubectl exec/logs/port-forward tunnelled through the hub to a pod on a real kubelet (WebSocket,
 * kubectl's default, and SPDY), a watch from a compacted resourceVersion (410 Gone) passed through
 * unchanged and not cached, and round-robin/priority choice between two real API servers on one etcd.
 *
 * The hubs run in this process on loopback and reach the lab API server directly; the pod runs on
 * the lab's kubelet node, which the API server reaches for exec/logs/port-forward. kubectl sends
 * bearer tokens only over TLS, so kubectl goes through the hub's secure listener (what pods'
 * in-cluster config uses) with a ServiceAccount token: the node identity may not exec.
 */
const NS = 'streams';
const POD = 'echo';
const SA = 'streamer';
const CM = 'probe';
const PODTEMPLATE = 'pt-probe';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
interface WatchEvent {
  type: string;
  object: {
    kind?: string;
    code?: number;
    reason?: string;
    metadata?: { name?: string; resourceVersion?: string };
  };
}

let lab: Lab | undefined;
let token = '';
let directKubeconfig = '';
const hubs: Hub[] = [];
const children = new Set<ChildProcess>();

const cluster = () => (lab as Lab).cluster;
const kubectl = (args: string[], input?: string) => cluster().kubectl(args, input ? { input } : {});

/** The lab's kubectl with a kubeconfig, capturing stderr too (kubectl -v=4 logs a WebSocket→SPDY fallback there). */
function runKubectl(
  kubeconfig: string,
  args: string[],
  opts: { input?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      cluster().binaries.kubectl,
      [`--kubeconfig=${kubeconfig}`, ...args],
      {
        timeout: 60_000,
        env: { ...process.env, ...opts.env },
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

async function writeTokenKubeconfig(path: string, server: string): Promise<string> {
  await writeFile(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server, 'certificate-authority': cluster().caCertPath } }],
      users: [{ name: SA, user: { token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: SA, namespace: NS } }],
      'current-context': 'c',
    }),
    { mode: 0o600 },
  );
  return path;
}

/**
 * Sends a WebSocket exec upgrade for `/lab-app echo hi` in `pod`, as client-go does, to `base`
 * (a hub's secure proxy or the API server); resolves the answer's HTTP status (101 once the API
 * server upgraded) and, once upgraded, the raw frames read until the command's output came.
 */
function execUpgrade(base: string, pod = POD): Promise<{ status: number; output: string }> {
  const { hostname: host, port } = new URL(base);
  const query = 'command=%2Flab-app&command=echo&command=hi&stdout=true';
  return new Promise((resolve, reject) => {
    const req = https.request({
      host,
      port,
      path: `/api/v1/namespaces/${NS}/pods/${pod}/exec?${query}`,
      ca: readFileSync(cluster().caCertPath),
      timeout: 30_000,
      headers: {
        authorization: `Bearer ${token}`,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-protocol': 'v5.channel.k8s.io',
      },
    });
    req.on('upgrade', (res, socket, head) => {
      // The command's stdout arrives in WebSocket frames (channel byte 1, then the bytes).
      let output = head.toString('latin1');
      const done = () => {
        clearTimeout(timer);
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, output });
      };
      const timer = setTimeout(done, 10_000);
      socket.on('data', (c: Buffer) => {
        output += c.toString('latin1');
        if (output.includes('\x01hi\n')) done();
      });
      socket.on('close', done);
      socket.on('error', done);
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, output: '' });
    });
    req.on('timeout', () => req.destroy(new Error('exec upgrade: no answer in 30 s')));
    req.on('error', reject);
    req.end();
  });
}

/** What `lab-app cat` writes for `input`: each fgets() chunk (a line, at most 4095 bytes) after "cat: ". */
function labAppCat(input: string): string {
  let out = '';
  let rest = input;
  while (rest.length > 0) {
    const nl = rest.indexOf('\n');
    const len = Math.min(nl === -1 ? rest.length : nl + 1, 4095);
    out += `cat: ${rest.slice(0, len)}`;
    rest = rest.slice(len);
  }
  return out;
}

/** A hub on loopback (proxy, admin, secure proxy) in front of `servers`, with its own node identity. */
async function startHub(
  name: string,
  servers: string[],
  strategy: UpstreamStrategy,
  extra: Partial<HubConfig> = {},
): Promise<{ hub: Hub; kubeconfig: string }> {
  const c = cluster();
  const dir = join((lab as Lab).dir, `hub-${name}`);
  await mkdir(dir, { recursive: true });
  const node = `hub-${name}`;
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: node } }),
  );
  const cert = await c.pki.issueClientCert(`hub-${name}-client`, `system:node:${node}`, ['system:nodes']);
  const serving = await c.pki.issueServerCert(`hub-${name}-serving`, 'edgefleet-hub', ['127.0.0.1']);
  const config: HubConfig = {
    nodeName: node,
    servers,
    strategy,
    tls: { certFile: cert.cert, keyFile: cert.key, caFile: c.caCertPath },
    proxyListen: `127.0.0.1:${await freePort()}`,
    adminListen: `127.0.0.1:${await freePort()}`,
    secureProxyListen: `127.0.0.1:${await freePort()}`,
    secureProxyTls: { certFile: serving.cert, keyFile: serving.key },
    cacheDir: join(dir, 'cache'),
    journalDir: join(dir, 'journal'),
    cacheKeyFile: join(dir, 'cache.key'),
    cacheAgents: [],
    heartbeatIntervalSeconds: 3600,
    kubeletSilenceSeconds: 3600,
    leaseDurationSeconds: 40,
    journalMaxEntries: 1000,
    ...extra,
  };
  const hub = await Hub.start(config, { log: new MemoryLogger() });
  hubs.push(hub);
  for (let i = 0; i < 100 && hub.secureProxyAddress === ''; i++) await sleep(100);
  if (hub.secureProxyAddress === '') throw new Error(`hub ${name}: secure proxy did not start in 10 s`);
  const kubeconfig = await writeTokenKubeconfig(
    join(dir, 'token.kubeconfig'),
    `https://${hub.secureProxyAddress}`,
  );
  return { hub, kubeconfig };
}

async function closeHub(hub: Hub): Promise<void> {
  hubs.splice(hubs.indexOf(hub), 1);
  await hub.close();
}

interface Reply {
  status: number;
  body: string;
}

/** One GET with the ServiceAccount token (plain HTTP to a hub's proxy, or TLS to an API server). */
function getWithToken(base: string, path: string, ua = 'hub-streams-test/1.0'): Promise<Reply> {
  const u = new URL(base);
  const options = {
    host: u.hostname,
    port: u.port,
    path,
    headers: { authorization: `Bearer ${token}`, 'user-agent': ua, accept: 'application/json' },
    timeout: 30_000,
  };
  return new Promise((resolve, reject) => {
    const onRes = (res: http.IncomingMessage) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        b += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      res.on('error', reject);
    };
    const req =
      u.protocol === 'https:'
        ? https.request({ ...options, ca: readFileSync(cluster().caCertPath) }, onRes)
        : http.request(options, onRes);
    req.on('timeout', () => req.destroy(new Error(`GET ${base}${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end();
  });
}

const watchEvents = (body: string): WatchEvent[] =>
  body
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as WatchEvent);

/** Sum of one API server's own `apiserver_request_total` for GETs of podtemplates (nothing else in the lab GETs them). */
async function podtemplateGets(url: string): Promise<number> {
  const pki = cluster().pki.dir;
  const u = new URL(url);
  const text = await new Promise<string>((resolve, reject) => {
    const req = https.request(
      {
        host: u.hostname,
        port: u.port,
        path: '/metrics',
        ca: readFileSync(cluster().caCertPath),
        cert: readFileSync(join(pki, 'admin.crt')),
        key: readFileSync(join(pki, 'admin.key')),
        timeout: 15_000,
      },
      (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          b += c;
        });
        res.on('end', () => resolve(b));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url}/metrics: no answer in 15 s`)));
    req.on('error', reject);
    req.end();
  });
  let n = 0;
  for (const line of text.split('\n')) {
    if (
      line.startsWith('apiserver_request_total{') &&
      line.includes('resource="podtemplates"') &&
      line.includes('verb="GET"')
    )
      n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

/** `n` GETs of the probe PodTemplate through a hub's plain proxy; every one must succeed. */
async function getPodtemplates(hub: Hub, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await getWithToken(
      `http://${hub.proxyAddress}`,
      `/api/v1/namespaces/${NS}/podtemplates/${PODTEMPLATE}`,
    );
    expect(r.status, r.body).toBe(200);
  }
}

beforeAll(async () => {
  // configmaps and pods bypass the watch cache, so a watch from a compacted resourceVersion reaches
  // etcd and gets 410 Gone (the 1.36 watch cache answers resourceVersion=1 without 410).
  lab = await Lab.start({
    kubelets: 1,
    cluster: { extraApiserverArgs: ['--watch-cache-sizes=configmaps#0,pods#0'] },
  });
  const rbac = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA, namespace: NS } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: SA, namespace: NS },
      rules: [
        {
          apiGroups: [''],
          resources: ['pods', 'podtemplates'],
          verbs: ['get', 'list', 'watch'],
        },
        {
          apiGroups: [''],
          resources: ['configmaps'],
          verbs: ['get', 'list', 'watch', 'create', 'patch', 'update'],
        },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
        { apiGroups: [''], resources: ['pods/exec', 'pods/portforward'], verbs: ['get', 'create'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: SA, namespace: NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: SA },
      subjects: [{ kind: 'ServiceAccount', name: SA, namespace: NS }],
    },
  ];
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }));
  await until('the namespace default ServiceAccount', 60_000, async () =>
    (await kubectl(['get', 'serviceaccount', '-n', NS, 'default', '-o', 'name'])) ? true : undefined,
  );
  const objects = [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: POD, namespace: NS },
      spec: {
        nodeSelector: { 'edgefleet.io/lab-node': 'kubelet' },
        terminationGracePeriodSeconds: 2,
        containers: [
          { name: 'app', image: APP_IMAGE, imagePullPolicy: 'Never', ports: [{ containerPort: 8080 }] },
        ],
      },
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: CM, namespace: NS }, data: { v: '1' } },
    {
      apiVersion: 'v1',
      kind: 'PodTemplate',
      metadata: { name: PODTEMPLATE, namespace: NS },
      template: { spec: { containers: [{ name: 'c', image: APP_IMAGE }] } },
    },
  ];
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  token = (await kubectl(['create', 'token', '-n', NS, SA, '--duration=2h'])).trim();
  directKubeconfig = await writeTokenKubeconfig(
    join((lab as Lab).dir, 'direct.kubeconfig'),
    cluster().apiServerUrl,
  );
  await until('the pod to run and log', 120_000, async () => {
    const phase = await kubectl(['get', 'pod', '-n', NS, POD, '-o', 'jsonpath={.status.phase}']);
    if (phase !== 'Running') return undefined;
    return (await kubectl(['logs', '-n', NS, POD])).includes('listening on :8080') ? true : undefined;
  });
});

afterAll(async () => {
  const errors: string[] = [];
  for (const child of children) child.kill('SIGKILL');
  for (const hub of [...hubs]) await hub.close().catch((e: Error) => errors.push(`hub: ${e.message}`));
  await lab?.stop().catch((e: Error) => errors.push(`lab: ${e.message}`));
  if (errors.length) throw new Error(errors.join('; '));
});

/** A long-running kubectl (port-forward, get -w); stop() ends it and resolves its stderr. */
function startKubectl(
  kubeconfig: string,
  args: string[],
  env: Record<string, string> = {},
): { stdout: () => string; running: () => boolean; stop: () => Promise<string> } {
  const child = spawn(cluster().binaries.kubectl, [`--kubeconfig=${kubeconfig}`, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<string> => {
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(5_000)]);
    if (running()) child.kill('SIGKILL');
    await exited;
    children.delete(child);
    return stderr;
  };
  return { stdout: () => stdout, running, stop };
}

/** Starts `kubectl port-forward` to the pod's 8080 on a free loopback port; resolves the port. */
async function portForward(
  kubeconfig: string,
  env: Record<string, string>,
): Promise<{ port: number; stop: () => Promise<string> }> {
  const pf = startKubectl(
    kubeconfig,
    ['-v=4', 'port-forward', '--address=127.0.0.1', `pod/${POD}`, ':8080'],
    env,
  );
  const deadline = Date.now() + 30_000;
  const forwarded = () => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(pf.stdout());
  while (!forwarded() && Date.now() < deadline && pf.running()) await sleep(100);
  const m = forwarded();
  if (!m) {
    const stderr = await pf.stop();
    throw new Error(`kubectl port-forward did not start: ${pf.stdout()} ${stderr.slice(-2000)}`);
  }
  return { port: Number(m[1]), stop: pf.stop };
}

function httpGet(port: number, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 15_000 }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        b += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('timeout', () => req.destroy(new Error(`127.0.0.1:${port}${path}: no answer in 15 s`)));
    req.on('error', reject);
  });
}

describe('kubectl exec / logs / port-forward through the hub (real kubelet)', () => {
  let hubKubeconfig = '';
  let hubSecureUrl = '';
  beforeAll(async () => {
    const started = await startHub('streams', [cluster().apiServerUrl], 'priority');
    hubKubeconfig = started.kubeconfig;
    hubSecureUrl = `https://${started.hub.secureProxyAddress}`;
  });

  // Set explicitly both ways, so a kubectl default or an inherited variable cannot change what is tested.
  const transports: { name: string; exec: Record<string, string>; pf: Record<string, string> }[] = [
    {
      name: 'WebSocket (kubectl default)',
      exec: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'true' },
      pf: { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'true' },
    },
    {
      name: 'SPDY',
      exec: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' },
      pf: { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' },
    },
  ];

  for (const t of transports) {
    it(`exec -i over ${t.name}: stdin echoes back exactly, as directly`, async () => {
      // Several lines plus 64 KiB of random hex: more than one frame each way.
      const input = `first line\nsecond line\t with tab\n${randomBytes(32 * 1024).toString('hex')}\nend\n`;
      const args = ['-v=4', 'exec', '-i', POD, '--', '/lab-app', 'cat'];
      const viaHub = await runKubectl(hubKubeconfig, args, { input, env: t.exec });
      expect(viaHub.code, viaHub.stderr.slice(-2000)).toBe(0);
      expect(viaHub.stdout).toBe(labAppCat(input));
      // kubectl falls back from WebSocket to SPDY by itself; the hub must not be why.
      expect(viaHub.stderr).not.toMatch(/fallback/i);
      const direct = await runKubectl(directKubeconfig, args, { input, env: t.exec });
      expect(direct.stdout).toBe(viaHub.stdout);
      const plain = await runKubectl(
        hubKubeconfig,
        ['exec', POD, '--', '/lab-app', 'echo', 'exit', 'status'],
        { env: t.exec },
      );
      expect(plain).toMatchObject({ code: 0, stdout: 'exit status\n' });
    });

    it(`port-forward over ${t.name} serves the pod's port on loopback`, async () => {
      const pf = await portForward(hubKubeconfig, t.pf);
      let stderr = '';
      try {
        for (const path of ['/through-hub-1', '/through-hub-2']) {
          const r = await httpGet(pf.port, path);
          expect(r).toEqual({ status: 200, body: `lab-app ${POD} ${path}\n` });
        }
      } finally {
        stderr = await pf.stop();
      }
      expect(stderr).not.toMatch(/fallback/i);
    });
  }

  it('kubectl logs through the hub equals direct kubectl logs', async () => {
    const viaHub = await runKubectl(hubKubeconfig, ['logs', POD]);
    const direct = await runKubectl(directKubeconfig, ['logs', POD]);
    expect(viaHub.code, viaHub.stderr).toBe(0);
    expect(viaHub.stdout).toBe(direct.stdout);
    // The port-forward requests above reached the pod: they are in its log.
    expect(viaHub.stdout).toContain('GET /through-hub-1');
    expect(viaHub.stdout).toContain(`listening on :8080 as ${POD}`);
  });

  it('kubectl apply and get -w through the hub: the same objects as direct, changes streamed', async () => {
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'applied', namespace: NS },
      data: { v: 'one' },
    };
    const applied = await runKubectl(hubKubeconfig, ['apply', '-f', '-'], { input: JSON.stringify(cm) });
    expect(applied, applied.stderr).toMatchObject({ code: 0, stdout: 'configmap/applied created\n' });
    const get = ['get', 'configmap', 'applied', '-o', 'json'];
    const viaHub = await runKubectl(hubKubeconfig, get);
    expect(viaHub.code, viaHub.stderr).toBe(0);
    expect(JSON.parse(viaHub.stdout)).toEqual(JSON.parse((await runKubectl(directKubeconfig, get)).stdout));
    const watch = startKubectl(hubKubeconfig, [
      'get',
      'configmap',
      'applied',
      '-w',
      '-o',
      'jsonpath={.data.v}{"\\n"}',
    ]);
    try {
      await until('the watch to list', 20_000, async () => (watch.stdout() === 'one\n' ? true : undefined));
      const changed = await runKubectl(hubKubeconfig, ['apply', '-f', '-'], {
        input: JSON.stringify({ ...cm, data: { v: 'two' } }),
      });
      expect(changed, changed.stderr).toMatchObject({ code: 0, stdout: 'configmap/applied configured\n' });
      await until('the change on the watch', 20_000, async () =>
        watch.stdout() === 'one\ntwo\n' ? true : undefined,
      );
    } finally {
      await watch.stop();
    }
  });

  it('an upgrade the API server refuses is relayed as its answer', async () => {
    // kubectl would stop at its own GET of the pod first; a bare upgrade reaches the refusal.
    const direct = await execUpgrade(cluster().apiServerUrl, 'no-such-pod');
    expect(direct.status).toBe(404);
    expect(await execUpgrade(hubSecureUrl, 'no-such-pod')).toEqual(direct);
    expect(await execUpgrade(hubSecureUrl)).toMatchObject({
      status: 101,
      output: expect.stringContaining('\x01hi\n'),
    });
  });
});

describe('410 Gone on watch against the real API server', () => {
  let hub: Hub;
  const COMPONENT = 'edgefleet-watch-probe';
  const UA = `${COMPONENT}/1.0`;
  const cmResource = { resource: 'configmaps', version: 'v1', group: '' };
  beforeAll(async () => {
    hub = (await startHub('watch', [cluster().apiServerUrl], 'priority', { centralConfig: false })).hub;
  });

  it('reaches the client unchanged, is not cached, and the client recovers by re-listing', async () => {
    const compactedAt = await cluster().compactEtcd();
    const path = `/api/v1/namespaces/${NS}/configmaps?watch=true&resourceVersion=1&timeoutSeconds=20`;
    const direct = await getWithToken(cluster().apiServerUrl, path, UA);
    const viaHub = await getWithToken(`http://${hub.proxyAddress}`, path, UA);
    // kube-apiserver answers a watch from a compacted revision with 200 and one ERROR event.
    expect(direct.status).toBe(200);
    expect(watchEvents(direct.body)).toEqual([
      {
        type: 'ERROR',
        object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }),
      },
    ]);
    expect(viaHub.status).toBe(direct.status);
    expect(watchEvents(viaHub.body)).toEqual(watchEvents(direct.body));
    await hub.cache.idle();
    expect(await hub.storage.resources(COMPONENT)).toEqual([]);

    // client-go's reflector on 410: list again, then watch from the list's resourceVersion.
    const list = await getWithToken(`http://${hub.proxyAddress}`, `/api/v1/namespaces/${NS}/configmaps`, UA);
    expect(list.status).toBe(200);
    const listed = JSON.parse(list.body) as {
      metadata: { resourceVersion: string };
      items: { metadata: { name: string } }[];
    };
    expect(listed.items.map((i) => i.metadata.name)).toContain(CM);
    expect(BigInt(listed.metadata.resourceVersion)).toBeGreaterThanOrEqual(BigInt(compactedAt));
    // The same client is cacheable: the list did land in the cache (so the empty cache above means something).
    await hub.cache.idle();
    expect(
      ((await hub.storage.list(COMPONENT, cmResource, NS)) as { metadata: { name: string } }[]).map(
        (o) => o.metadata.name,
      ),
    ).toContain(CM);
    const rewatch = getWithToken(
      `http://${hub.proxyAddress}`,
      `/api/v1/namespaces/${NS}/configmaps?watch=true&resourceVersion=${listed.metadata.resourceVersion}&timeoutSeconds=3`,
      UA,
    );
    await sleep(500);
    await kubectl(['patch', 'configmap', '-n', NS, CM, '--type=merge', '-p', '{"data":{"v":"2"}}']);
    const events = watchEvents((await rewatch).body);
    expect(events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toContain(`MODIFIED ${CM}`);
    await hub.cache.idle();
    const cached = (await hub.storage.get({
      component: COMPONENT,
      resource: cmResource,
      namespace: NS,
      name: CM,
    })) as {
      data: { v: string };
    };
    expect(cached.data.v).toBe('2');
  });

  it('a compacted watch is not served from a shared upstream watch of the same resource', async () => {
    // Node-identity watches (no Authorization) of the same pods share one upstream watch; one from a
    // revision older than the shared watch's start must still go to the API server and get its 410.
    const [host, port] = hub.proxyAddress.split(':');
    const sel = `fieldSelector=spec.nodeName%3D${hub.config.nodeName}`;
    const asKubelet = (path: string, onRes: (res: http.IncomingMessage) => void) =>
      http.get({ host, port, path, headers: { 'user-agent': 'kubelet/v1.36.3' } }, onRes);
    const body = (path: string) =>
      new Promise<Reply>((resolve, reject) => {
        asKubelet(path, (res) => {
          let b = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            b += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
        }).on('error', reject);
      });
    const counters = async () => {
      const text = await hub.metrics.render();
      const read = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN);
      return {
        upstream: read('edgefleet_hub_upstream_watches_total'),
        joins: read('edgefleet_hub_shared_watch_joins_total'),
      };
    };
    const list = await body(`/api/v1/pods?${sel}`);
    expect(list.status, list.body).toBe(200);
    const rv = (JSON.parse(list.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    const current = `/api/v1/pods?watch=true&${sel}&resourceVersion=${rv}&timeoutSeconds=30`;
    const held: http.ClientRequest[] = [];
    const hold = () => {
      const req = asKubelet(current, (res) => res.resume());
      req.on('error', () => undefined);
      held.push(req);
    };
    try {
      const c0 = await counters();
      hold();
      await until('the first watch upstream', 10_000, async () =>
        (await counters()).upstream > c0.upstream ? true : undefined,
      );
      // An identical watch joins it: the sharing is in place.
      hold();
      await until('the second watch to join', 10_000, async () =>
        (await counters()).joins > c0.joins ? true : undefined,
      );
      const c1 = await counters();
      await cluster().compactEtcd();
      const old = await body(`/api/v1/pods?watch=true&${sel}&resourceVersion=1&timeoutSeconds=20`);
      expect(old.status).toBe(200);
      expect(watchEvents(old.body)).toEqual([
        { type: 'ERROR', object: expect.objectContaining({ code: 410, reason: 'Expired' }) },
      ]);
      expect(await counters()).toEqual({ upstream: c1.upstream + 1, joins: c1.joins });
    } finally {
      for (const req of held) req.destroy();
    }
  });
});

describe('upstream choice between two real API servers on one etcd', () => {
  let second = { name: '', url: '', port: 0 };
  beforeAll(async () => {
    second = await cluster().startExtraApiServer({ name: 'kube-apiserver-2' });
  });

  it('round-robin spreads requests over both API servers', async () => {
    const first = cluster().apiServerUrl;
    const { hub } = await startHub('rr', [first, second.url], 'round-robin', { centralConfig: false });
    try {
      const before = [await podtemplateGets(first), await podtemplateGets(second.url)];
      await getPodtemplates(hub, 20);
      const after = [await podtemplateGets(first), await podtemplateGets(second.url)];
      const spread = after.map((n, i) => n - (before[i] ?? 0));
      expect((spread[0] ?? 0) + (spread[1] ?? 0)).toBe(20);
      for (const n of spread) expect(n).toBeGreaterThanOrEqual(5);
    } finally {
      await closeHub(hub);
    }
  });

  it('priority uses the first while healthy, fails over to the second when it stops and back when it returns', async () => {
    const main = cluster().apiServerUrl;
    // The extra API server is first: stopping it leaves the lab's own control plane alone.
    const { hub, kubeconfig } = await startHub('prio', [second.url, main], 'priority', {
      centralConfig: false,
    });
    try {
      let before = [await podtemplateGets(second.url), await podtemplateGets(main)];
      await getPodtemplates(hub, 10);
      let after = [await podtemplateGets(second.url), await podtemplateGets(main)];
      expect(after.map((n, i) => n - (before[i] ?? 0))).toEqual([10, 0]);

      await cluster().processes.stop(second.name);
      // The first request after the stop is a bare upgrade (no GET before it, unlike kubectl, to
      // mark the server failed): the hub must tunnel it to the second server rather than refuse it.
      expect(await execUpgrade(`https://${hub.secureProxyAddress}`)).toMatchObject({
        status: 101,
        output: expect.stringContaining('\x01hi\n'),
      });
      // The first request after the stop is an upgrade: it finds the first server down and is
      // tunnelled to the second.
      const echoed = await runKubectl(
        kubeconfig,
        ['-v=4', 'exec', POD, '--', '/lab-app', 'echo', 'failed', 'over'],
        {
          env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'true' },
        },
      );
      expect(echoed.code, echoed.stderr.slice(-2000)).toBe(0);
      expect(echoed.stdout).toBe('failed over\n');
      // Not rescued by kubectl's own fallback from WebSocket to SPDY after a refused upgrade.
      expect(echoed.stderr).not.toMatch(/fallback/i);
      before = [await podtemplateGets(main)];
      await getPodtemplates(hub, 10);
      after = [await podtemplateGets(main)];
      expect((after[0] ?? 0) - (before[0] ?? 0)).toBe(10);

      await cluster().startExtraApiServer({ name: second.name, port: second.port });
      // Failed servers are skipped for a few seconds, then preferred again once they answer.
      await until('the hub to prefer the first API server again', 60_000, async () => {
        await getPodtemplates(hub, 1);
        return (await podtemplateGets(second.url)) > 0 ? true : undefined;
      });
      before = [await podtemplateGets(second.url), await podtemplateGets(main)];
      await getPodtemplates(hub, 10);
      after = [await podtemplateGets(second.url), await podtemplateGets(main)];
      expect(after.map((n, i) => n - (before[i] ?? 0))).toEqual([10, 0]);
    } finally {
      await closeHub(hub);
    }
  });

  it('API server restarted mid-watch: the watch through the hub ends cleanly, the client resumes from its resourceVersion and misses nothing', async () => {
    // Only the extra API server behind this hub, so stopping it is a restart of "the" API server.
    const { hub } = await startHub('restart', [second.url], 'priority', { centralConfig: false });
    const UA = 'edgefleet-restart-probe/1.0';
    const name = 'restart-probe';
    const base = `/api/v1/namespaces/${NS}/configmaps`;
    let stopped = false;
    let w: ReturnType<typeof openWatch> | undefined;
    try {
      const list = await getWithToken(`http://${hub.proxyAddress}`, base, UA);
      expect(list.status).toBe(200);
      const listRv = (JSON.parse(list.body) as { metadata: { resourceVersion: string } }).metadata
        .resourceVersion;
      const watch = openWatch(
        hub.proxyAddress,
        `${base}?watch=true&resourceVersion=${listRv}&timeoutSeconds=120`,
        UA,
        { authorization: `Bearer ${token}`, accept: 'application/json' },
      );
      const events = () => watch.lines.map((l) => JSON.parse(l) as WatchEvent);
      w = watch;
      await sleep(300);
      await kubectl(['create', 'configmap', '-n', NS, name, '--from-literal=v=1']);
      await until('the ADDED event through the hub', 15_000, async () =>
        events().some((e) => e.type === 'ADDED' && e.object.metadata?.name === name) ? true : undefined,
      );
      const seenRv = events().at(-1)?.object.metadata?.resourceVersion ?? '';

      await cluster().processes.stop(second.name);
      stopped = true;
      await until('the watch to end', 30_000, async () => (watch.ended() ? true : undefined));
      expect({ ended: watch.ended(), errored: watch.errored() }).toMatchObject({
        ended: true,
        errored: false,
      });
      // Changed while the API server is down (through the lab's own API server, same etcd).
      await kubectl(['patch', 'configmap', '-n', NS, name, '--type=merge', '-p', '{"data":{"v":"2"}}']);
      await cluster().startExtraApiServer({ name: second.name, port: second.port });
      stopped = false;

      // client-go's reflector: watch again from the last resourceVersion it saw.
      let resumed: WatchEvent[] = [];
      await until('the resumed watch to deliver the change made during the restart', 60_000, async () => {
        const r = await getWithToken(
          `http://${hub.proxyAddress}`,
          `${base}?watch=true&resourceVersion=${seenRv}&timeoutSeconds=2`,
          UA,
        );
        resumed = r.status === 200 ? watchEvents(r.body) : [];
        return resumed.some((e) => e.type === 'MODIFIED' && e.object.metadata?.name === name)
          ? true
          : undefined;
      });
      await hub.cache.idle();
      const cached = (await hub.storage.get({
        component: 'edgefleet-restart-probe',
        resource: { resource: 'configmaps', version: 'v1', group: '' },
        namespace: NS,
        name,
      })) as { data: { v: string } } | undefined;
      expect(cached?.data.v).toBe('2');
    } finally {
      w?.close();
      if (stopped) await cluster().startExtraApiServer({ name: second.name, port: second.port });
      await kubectl(['delete', 'configmap', '-n', NS, name, '--ignore-not-found']);
      await closeHub(hub);
    }
  });
});
