/**
 * The app's streams against a whole lab: pod logs (follow, previous, container choice, errors)
 * and exec (stdin/stdout, exit codes, a TTY resize the process sees) of a pod on the real-kubelet
 * node through kube-apiserver, and the journal of an agent unit on an nspawn host over SSH.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventSink, RequestOf } from '../../src-main/ipc/contract.ts';
import { ProvisionService } from '../../src-main/provision/handlers.ts';
import { APP_IMAGE } from './images.ts';
import { Lab } from './lab.ts';
import { provisionKit } from './provision-support.ts';
import { feedStandInHub, StreamClient, startStandInHub } from './streams-support.ts';
import { until } from './until.ts';

const KUBE = 'kube-1';
const EDGE = 'edge-1';
const POD = 'streams-app';
const CLUSTER = 'lab/admin';

interface PodJson {
  status: { containerStatuses?: { restartCount: number; containerID?: string; ready: boolean }[] };
}

function kubeConfig(server: string, ca: string, user: { cert: string; key: string }): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'lab', server, caFile: ca }],
    users: [{ name: 'u', certFile: user.cert, keyFile: user.key }],
    contexts: [{ name: 'ctx', cluster: 'lab', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

describe('streams: pod logs and exec through the API server, agent logs over SSH', () => {
  let lab: Lab | null = null;
  let admin: KubeConfig;
  let viewer: KubeConfig;
  let client: StreamClient;
  let kit: Awaited<ReturnType<typeof provisionKit>> | null = null;
  let provision: ProvisionService | null = null;
  const must = () => {
    if (!lab) throw new Error('lab did not start (see beforeAll)');
    return lab;
  };
  const kubectl = (args: string[]) => must().cluster.kubectl(args, { timeoutMs: 30_000 });
  const pod = () => must().cluster.kubectlJson<PodJson>(['get', 'pod', POD]);
  const logs = (extra: Partial<RequestOf<'streams:podLogs'>> = {}) =>
    client.call('streams:podLogs', { clusterId: CLUSTER, namespace: 'default', pod: POD, ...extra });
  const exec = (command: string[], extra: Partial<RequestOf<'streams:exec'>> = {}) =>
    client.call('streams:exec', { clusterId: CLUSTER, namespace: 'default', pod: POD, command, ...extra });
  /** A request to the pod's server from inside the pod: it logs one line per request. */
  const request = (path: string) =>
    kubectl(['exec', POD, '--', '/lab-app', 'get', '127.0.0.1', '8080', path]);

  beforeAll(async () => {
    lab = await Lab.start({ hosts: 1, kubelets: 1 });
    const l = lab;
    const server = l.cluster.apiServerUrl;
    admin = new KubeConfig();
    admin.loadFromFile(l.kubeconfig);
    // A user with no RBAC at all: may authenticate, may not read logs or exec.
    viewer = kubeConfig(
      server,
      l.cluster.caCertPath,
      await l.cluster.pki.issueClientCert('streams-bob', 'bob', []),
    );
    kit = await provisionKit(l);
    const noEvents: EventSink = () => {};
    provision = new ProvisionService({
      vault: kit.vault,
      emit: noEvents,
      dataDir: join(kit.dir, 'provision'),
      resourcesDir: join(kit.dir, 'resources'),
      kubeConfigFor: () => Promise.reject(new Error('unused')),
      log: () => {},
    });
    const p = provision;
    client = new StreamClient({
      kubeConfigFor: async (id) => (id === 'lab/bob' ? viewer : admin),
      openSsh: (hostId) => p.openSession(hostId),
    });
    await kubectl([
      'run',
      POD,
      `--image=${APP_IMAGE}`,
      '--image-pull-policy=Never',
      `--overrides=${JSON.stringify({ spec: { nodeName: KUBE, terminationGracePeriodSeconds: 2 } })}`,
    ]);
    await until('the pod to run', 120_000, async () =>
      (await pod()).status.containerStatuses?.[0]?.ready ? true : undefined,
    );
  }, 420_000);

  afterAll(async () => {
    client?.service.closeAll('closed');
    await lab?.stop().catch((e: Error) => process.stderr.write(`lab stop: ${e.message}\n`));
    if (kit) await rm(kit.dir, { recursive: true, force: true });
  }, 120_000);

  it('logs: the tail, then with follow a line written after opening arrives; close stops it', async () => {
    await request('/before-open');
    const tail = await logs({ tailLines: 10 });
    expect(tail.kind).toBe('pod-logs');
    const end = await client.waitEnd(tail.streamId);
    expect(end).toEqual({ streamId: tail.streamId, reason: 'ended' });
    const lines = client.rec(tail.streamId).lines;
    expect(lines[0]?.line).toBe(`lab-app: listening on :8080 as ${POD}`);
    // Search-friendly: every line has kubelet's timestamp, split off the text.
    for (const l of lines) expect(l.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
    expect(lines.some((l) => /GET \/before-open/.test(l.line))).toBe(true);

    const follow = await logs({ follow: true, tailLines: 1, container: POD });
    await client.waitLine(follow.streamId, /GET \/before-open/);
    await request('/after-open');
    await client.waitLine(follow.streamId, /GET \/after-open/);
    expect(client.rec(follow.streamId).end).toBeUndefined();
    expect(client.service.openCount).toBe(1);
    await client.call('streams:close', { streamId: follow.streamId });
    expect((await client.waitEnd(follow.streamId)).reason).toBe('closed');
    expect(client.service.openCount).toBe(0);
  });

  it('logs: errors as values — no such container, no previous run, a user without RBAC', async () => {
    await expect(logs({ container: 'nope' })).rejects.toMatchObject({
      code: 'kube/container-not-found',
      message: expect.stringMatching(/has no container nope/),
      fix: expect.any(String),
    });
    await expect(logs({ previous: true })).rejects.toMatchObject({ code: 'kube/no-previous' });
    await expect(
      client.call('streams:podLogs', { clusterId: 'lab/bob', namespace: 'default', pod: POD }),
    ).rejects.toMatchObject({
      code: 'kube/forbidden',
      message: expect.stringMatching(/^Your account may not get pods\/log in default/),
    });
    await expect(
      client.call('streams:exec', {
        clusterId: 'lab/bob',
        namespace: 'default',
        pod: POD,
        command: ['/lab-app'],
      }),
    ).rejects.toMatchObject({
      code: 'kube/forbidden',
      message: expect.stringMatching(/^Your account may not create pods\/exec in default/),
      fix: expect.stringContaining('"pods/exec"'),
    });
    expect(client.service.openCount).toBe(0);
  });

  it('exec: stdin round trip, EOF, exit code 0; a failing command reports its exit code and stderr', async () => {
    const cat = await exec(['/lab-app', 'cat']);
    expect(cat.protocol).toBe('v5.channel.k8s.io');
    await client.call('streams:write', { streamId: cat.streamId, data: 'hello from the app\n' });
    await client.waitFor('the echo', cat.streamId, (r) =>
      r.stdout.includes('cat: hello from the app\n') ? true : undefined,
    );
    await client.call('streams:write', { streamId: cat.streamId, eof: true });
    expect(await client.waitEnd(cat.streamId)).toEqual({
      streamId: cat.streamId,
      reason: 'ended',
      exitCode: 0,
    });

    const bad = await exec(['/lab-app', 'no-such-command'], { stdin: false });
    expect(await client.waitEnd(bad.streamId)).toMatchObject({ reason: 'ended', exitCode: 2 });
    expect(client.rec(bad.streamId).stderr).toMatch(/^usage: lab-app/);

    const missing = await exec(['/bin/sh'], { stdin: false });
    const end = await client.waitEnd(missing.streamId);
    expect(end).toMatchObject({ reason: 'error', error: { code: 'kube/exec-failed' } });
    expect(end.exitCode).toBeUndefined();
  });

  it('exec with a TTY: the size at open and a later resize are what the process sees', async () => {
    const tty = await exec(['/lab-app', 'stty'], { tty: true, size: { cols: 80, rows: 24 } });
    const sizeSeen = async (want: string) => {
      // The resize channel and stdin are separate streams in kubelet: ask until the new size shows.
      await until(`the terminal to be ${want}`, 15_000, async () => {
        await client.call('streams:write', { streamId: tty.streamId, data: '\r' });
        await new Promise((r) => setTimeout(r, 300));
        return client.rec(tty.streamId).stdout.includes(`size ${want}`) ? true : undefined;
      });
    };
    await sizeSeen('24 80');
    await client.call('streams:resize', { streamId: tty.streamId, cols: 132, rows: 43 });
    await sizeSeen('43 132');
    await client.call('streams:close', { streamId: tty.streamId });
    expect((await client.waitEnd(tty.streamId)).reason).toBe('closed');
  });

  it('logs: previous shows the run before a restart, not the current one', async () => {
    await request('/first-run');
    const before = (await pod()).status.containerStatuses?.[0];
    const id = before?.containerID?.replace(/^containerd:\/\//, '') ?? '';
    expect(id).not.toBe('');
    // lab-app exits 0 on SIGTERM; restartPolicy Always brings it back as a new run.
    await must().kubelet(KUBE).ctr(['tasks', 'kill', '-s', 'SIGTERM', id]);
    await until('the container to restart', 60_000, async () => {
      const c = (await pod()).status.containerStatuses?.[0];
      return c && c.restartCount >= 1 && c.ready ? true : undefined;
    });
    const prev = await logs({ previous: true });
    await client.waitEnd(prev.streamId);
    expect(client.rec(prev.streamId).lines.some((l) => /GET \/first-run/.test(l.line))).toBe(true);
    const now = await logs({});
    await client.waitEnd(now.streamId);
    const current = client.rec(now.streamId).lines.map((l) => l.line);
    expect(current).toEqual([`lab-app: listening on :8080 as ${POD}`]);
  });

  it('a renderer that stops acknowledging holds the stream at a bounded window, then it ends', async () => {
    const slow = StreamClient.forKubeconfig(must().kubeconfig, {
      outbox: { flushMs: 10, window: 1, ackTimeoutMs: 1_500 },
    });
    slow.autoAck = false;
    const s = await slow.call('streams:podLogs', {
      clusterId: CLUSTER,
      namespace: 'default',
      pod: POD,
      follow: true,
    });
    await slow.waitFor('one batch', s.streamId, (r) => (r.seqs.length ? true : undefined));
    await request('/while-stalled');
    expect((await slow.waitEnd(s.streamId, 10_000)).reason).toBe('renderer-gone');
    // One batch in flight, never a second while unacknowledged (the rest was coalesced, then the stream ended).
    expect(slow.rec(s.streamId).seqs.length).toBeLessThanOrEqual(2);
  });

  it('agent service logs of a lab host over SSH: the journal of edgefleet-hub, followed, with search', async () => {
    const l = must();
    const host = l.host(EDGE);
    if (!kit || !provision) throw new Error('no provisioning kit');
    await startStandInHub(host);
    await provision.knownHosts.trust(host.address, 22, 'ssh-ed25519', host.hostKeyFingerprint());
    const added = await provision.hosts.add({
      site: 'lab',
      name: EDGE,
      address: host.address,
      port: 22,
      user: 'root',
      auth: { kind: 'key', privateKeyRef: kit.keyRef },
    });

    const s = await client.call('streams:serviceLogs', {
      hostId: added.id,
      unit: 'edgefleet-hub',
      follow: true,
    });
    expect(s.kind).toBe('service-logs');
    const first = await client.waitLine(s.streamId, /hub starting/);
    expect(first.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(first.priority).toBe(6);
    await feedStandInHub(host, 'after open: cache warm');
    await client.waitLine(s.streamId, /after open: cache warm/);
    await client.call('streams:close', { streamId: s.streamId });
    expect((await client.waitEnd(s.streamId)).reason).toBe('closed');
    // The followed journalctl on the host is gone with the channel (no leftover per closed view).
    await until(
      'journalctl -f to exit on the host',
      10_000,
      async () =>
        !(await host.run(['sh', '-c', 'cat /proc/[0-9]*/cmdline | tr "\\0" " "'])).includes(
          'journalctl -u edgefleet-hub',
        ) || undefined,
    );

    const search = await client.call('streams:serviceLogs', {
      hostId: added.id,
      unit: 'edgefleet-hub',
      grep: 'cache warm',
    });
    expect(await client.waitEnd(search.streamId)).toEqual({ streamId: search.streamId, reason: 'ended' });
    expect(client.rec(search.streamId).lines.map((x) => x.line)).toEqual(['after open: cache warm']);

    await expect(
      client.call('streams:serviceLogs', { hostId: 'lab/no-such-host', unit: 'edgefleet-hub' }),
    ).rejects.toMatchObject({ code: 'hosts/unknown' });
  });
});
