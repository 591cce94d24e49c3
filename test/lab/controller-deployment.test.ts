/**
 * The controller as shipped: resources/manifests/controller.yaml's Deployment (2 replicas) running
 * the agent image on a real kubelet node (kube-1: containerd + runc), with the manifest's RBAC and
 * Lease-based leader election. The image is built locally (images.ts `buildAgentImage`: the agent
 * bundle, the shipped Node runtime and the glibc it links against) and imported into kube-1's
 * containerd — the lab has no registry. Leadership is checked twice: the leader pod deleted (it
 * releases the Lease on SIGTERM) and the leader process SIGKILLed (the Lease must run out), each
 * followed by a NodePool the new leader has to reconcile.
 *
 * What the test changes in the manifest, and why (nothing else):
 * - the container image: the locally built `registry.lab.invalid/edgefleet-agent:<version>-<hash>`;
 * - env KUBERNETES_SERVICE_HOST/PORT = the API server's real address (the lab gateway). The lab runs
 *   no kube-proxy, so the `kubernetes` Service IP kubelet would put there routes nowhere; the pod
 *   network is masqueraded to the gateway, where the API server listens. Everything else of the
 *   in-cluster config (service account token, kube-root-ca.crt, pod namespace) is the real one.
 * - the MutatingWebhookConfiguration is NOT applied: the API server (on the lab machine) has no route
 *   to pod or Service IPs here (no kube-proxy), so calling the webhook through its Service would send
 *   traffic off the lab. controller-incluster.test.ts covers the webhook's behaviour with the
 *   manifest's configuration pointed at a process. Here the webhook's serving Secret (which the pods
 *   mount, so they cannot start without it) is created from the lab CA — the manifest expects
 *   cert-manager or a hand-made Secret — and the test checks each replica serves TLS with it for
 *   the Service's DNS name, from inside the node's network namespace.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  controllerLeaseHolder,
  controllerManifestObjects,
  installCrds,
  REPO,
  until,
} from './controller-support.ts';
import { buildAgentImage, importImages, type LabImage } from './images.ts';
import { Lab } from './lab.ts';
import { sh } from './sh.ts';

const NS = 'kube-system';
const NODE = 'kube-1';
const APP_LABEL = 'app.kubernetes.io/name=edgefleet-controller';
const WEBHOOK_DNS = 'edgefleet-controller-webhook.kube-system.svc';

interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
}
interface ManifestObject {
  kind: string;
  metadata: Meta;
  spec?: {
    replicas?: number;
    template?: {
      spec: {
        containers: { name: string; image: string; env?: { name: string; value: string }[] }[];
      };
    };
  };
}
interface PodJson {
  metadata: Meta;
  spec: { nodeName?: string };
  status: {
    phase?: string;
    podIP?: string;
    containerStatuses?: { restartCount: number; ready: boolean; containerID?: string }[];
  };
}
interface NodePoolJson {
  status?: { nodes?: string[]; readyNodeNum?: number; unreadyNodeNum?: number };
}

describe('controller Deployment from the manifest, on a real kubelet node', () => {
  let lab: Lab | undefined;
  let image: LabImage;
  const l = () => lab as Lab;
  const kubectl = (args: string[], input?: string) => l().cluster.kubectl(args, input ? { input } : {});
  const getJson = <T>(args: string[]) => l().cluster.kubectlJson<T>(args);
  const apply = (obj: unknown) => kubectl(['apply', '-f', '-'], JSON.stringify(obj));
  /** A command in kube-1's network namespace, where pod IPs are reachable. */
  const inNode = (file: string, args: string[]) =>
    sh('ip', ['netns', 'exec', l().kubelet(NODE).netns, file, ...args], { timeoutMs: 20_000 });

  const controllerPods = async () =>
    (await getJson<{ items: PodJson[] }>(['get', 'pods', '-n', NS, '-l', APP_LABEL])).items.filter(
      (p) => !p.metadata.deletionTimestamp,
    );
  const leaseHolder = () => controllerLeaseHolder(l().cluster);
  /** The replica holding the Lease: the default identity is `<hostname = pod name>_<suffix>`. */
  const leaderPod = async (pods: PodJson[]) => {
    const holder = await leaseHolder();
    return holder ? pods.find((p) => holder.startsWith(`${p.metadata.name}_`)) : undefined;
  };
  const metricsOf = (pod: PodJson) =>
    inNode('curl', ['-sS', '--max-time', '5', `http://${pod.status.podIP}:10271/metrics`]);
  const poolStatus = (name: string) => getJson<NodePoolJson>(['get', 'np', name]);

  beforeAll(async () => {
    // The image runs the current sources: rebuild the bundle the way releases do.
    await promisify(execFile)(process.execPath, ['scripts/build-agent.mjs'], { cwd: REPO, timeout: 120_000 });
    image = await buildAgentImage();
    lab = await Lab.start({ kubelets: 1 });
    await importImages(l().kubelet(NODE).containerdSocket, [image]);
    await installCrds(l().cluster);
  }, 600_000);

  afterAll(async () => {
    await lab?.stop();
  }, 180_000);

  test('the agent image runs on the node: `edgefleet-agent --version`', async () => {
    const version = (await readFile(join(REPO, 'resources/agent/VERSION'), 'utf8')).trim();
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'agent-version', namespace: 'default' },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'agent',
            image: image.ref,
            args: ['--version'],
            securityContext: { runAsNonRoot: true, runAsUser: 65532, readOnlyRootFilesystem: true },
          },
        ],
      },
    });
    const pod = await until('agent-version pod to finish', 120_000, async () => {
      const p = await getJson<PodJson>(['get', 'pod', '-n', 'default', 'agent-version']);
      return p.status.phase === 'Succeeded' || p.status.phase === 'Failed' ? p : undefined;
    });
    const logs = await kubectl(['logs', '-n', 'default', 'agent-version']);
    expect(pod.status.phase, logs).toBe('Succeeded');
    expect(pod.spec.nodeName).toBe(NODE);
    expect(logs.trim()).toBe(version);
    await kubectl(['delete', 'pod', '-n', 'default', 'agent-version', '--wait=false']);
  }, 180_000);

  test('two replicas run, one leads and reconciles; a deleted or killed leader is replaced within 15 s', async () => {
    // The manifest's objects as kubectl parses them (one JSON document per object).
    const objects = await controllerManifestObjects<ManifestObject>(l().cluster);
    const deployment = objects.find((o) => o.kind === 'Deployment') as ManifestObject;
    const container = deployment.spec?.template?.spec.containers[0];
    if (!container) throw new Error('the manifest Deployment has no container');
    expect(deployment.spec?.replicas).toBe(2);
    container.image = image.ref;
    const api = new URL(l().cluster.apiServerUrl);
    container.env = [
      ...(container.env ?? []),
      { name: 'KUBERNETES_SERVICE_HOST', value: api.hostname },
      { name: 'KUBERNETES_SERVICE_PORT', value: api.port || '443' },
    ];

    const webhookCert = await l().cluster.pki.issueServerCert('controller-webhook-svc', WEBHOOK_DNS, [
      WEBHOOK_DNS,
      'edgefleet-controller-webhook.kube-system.svc.cluster.local',
    ]);
    await kubectl([
      'create',
      'secret',
      'tls',
      'edgefleet-controller-webhook',
      '-n',
      NS,
      `--cert=${webhookCert.cert}`,
      `--key=${webhookCert.key}`,
    ]);
    const applied = objects.filter((o) => o.kind !== 'MutatingWebhookConfiguration');
    expect(applied.length).toBe(objects.length - 1);
    await apply({ apiVersion: 'v1', kind: 'List', items: applied });

    const [first, second] = await until('both replicas Running and ready on kube-1', 180_000, async () => {
      const pods = await controllerPods();
      return pods.length === 2 &&
        pods.every(
          (p) =>
            p.status.phase === 'Running' &&
            p.spec.nodeName === NODE &&
            p.status.containerStatuses?.[0]?.ready,
        )
        ? pods
        : undefined;
    });
    if (!first || !second) throw new Error('unreachable: two pods expected');
    const leader = await until('a replica to hold the Lease', 60_000, async () => leaderPod([first, second]));
    const standby = leader === first ? second : first;
    expect(await metricsOf(leader)).toMatch(/^edgefleet_controller_leader 1$/m);
    expect(await metricsOf(standby)).toMatch(/^edgefleet_controller_leader 0$/m);

    // Every replica serves the webhook with the Secret's certificate, valid for the Service's name.
    for (const pod of [leader, standby]) {
      const code = await inNode('curl', [
        '-sS',
        '--max-time',
        '5',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--cacert',
        l().cluster.caCertPath,
        '--resolve',
        `${WEBHOOK_DNS}:10272:${pod.status.podIP}`,
        `https://${WEBHOOK_DNS}:10272/healthz`,
      ]);
      expect(code, `webhook of ${pod.metadata.name}`).toBe('200');
    }

    // The leader reconciles a pool with the node in it.
    await apply({
      apiVersion: 'apps.openyurt.io/v1beta2',
      kind: 'NodePool',
      metadata: { name: 'pool-a' },
      spec: { type: 'Cloud', labels: { 'edgefleet.test/site': 'a' } },
    });
    await kubectl(['label', '--overwrite', 'node', NODE, 'apps.openyurt.io/nodepool=pool-a']);
    await until('pool-a status and node labels from the in-cluster leader', 60_000, async () => {
      const p = await poolStatus('pool-a');
      const node = await getJson<{ metadata: Meta }>(['get', 'node', NODE]);
      return p.status?.nodes?.join() === NODE &&
        p.status.readyNodeNum === 1 &&
        node.metadata.labels?.['edgefleet.test/site'] === 'a'
        ? true
        : undefined;
    });

    // Delete the leader pod (kubelet stops it as in a rollout or eviction; it releases the Lease on
    // SIGTERM). Another live replica takes over: usually the standby, but the Deployment's
    // replacement pod starts within a second here and may win the race — both are correct.
    const deletedAt = Date.now();
    await kubectl(['delete', 'pod', '-n', NS, leader.metadata.name, '--wait=false']);
    // Both replicas' own words, for when the hand-over is late.
    const oldLeaderLog = kubectl(['logs', '-n', NS, leader.metadata.name, '-f']).catch(
      (e: Error) => e.message,
    );
    let newLeader: PodJson;
    try {
      newLeader = await until('another replica to take the Lease', 15_000, async () => {
        const holder = await leaseHolder();
        if (!holder || holder.startsWith(`${leader.metadata.name}_`)) return undefined;
        return (await controllerPods()).find((p) => holder.startsWith(`${p.metadata.name}_`));
      });
    } catch (e) {
      const lease = await kubectl(['get', 'lease', '-n', NS, 'edgefleet-controller', '-o', 'yaml']);
      const standbyLog = await kubectl(['logs', '-n', NS, standby.metadata.name]);
      throw new Error(
        `${(e as Error).message}\n--- lease ---\n${lease}\n--- standby log ---\n${standbyLog}\n--- old leader log ---\n${await oldLeaderLog}`,
      );
    }
    const takeoverMs = Date.now() - deletedAt;
    expect(takeoverMs).toBeLessThan(15_000);
    const tookOver =
      newLeader.metadata.name === standby.metadata.name ? 'the standby' : 'the replacement pod';
    expect(await oldLeaderLog).toMatch(/is the leader/);
    await until(`${newLeader.metadata.name} to report leadership`, 10_000, async () => {
      const p = (await controllerPods()).find((x) => x.metadata.name === newLeader.metadata.name);
      return p?.status.podIP && /^edgefleet_controller_leader 1$/m.test(await metricsOf(p))
        ? true
        : undefined;
    });

    // The new leader reconciles a new pool, and moves the node out of the old one.
    await apply({
      apiVersion: 'apps.openyurt.io/v1beta2',
      kind: 'NodePool',
      metadata: { name: 'pool-b' },
      spec: { type: 'Cloud', labels: { 'edgefleet.test/site': 'b' } },
    });
    await kubectl(['label', '--overwrite', 'node', NODE, 'apps.openyurt.io/nodepool=pool-b']);
    await until('pool-b status from the new leader, pool-a emptied', 60_000, async () => {
      const [a, b] = [await poolStatus('pool-a'), await poolStatus('pool-b')];
      const node = await getJson<{ metadata: Meta }>(['get', 'node', NODE]);
      return b.status?.nodes?.join() === NODE &&
        b.status.readyNodeNum === 1 &&
        (a.status?.nodes ?? []).length === 0 &&
        node.metadata.labels?.['edgefleet.test/site'] === 'b'
        ? true
        : undefined;
    });

    // The Deployment replaced the deleted pod; the new leader is one of the two, the other stands by.
    const pods = await until('the Deployment back to 2 ready replicas', 120_000, async () => {
      const ps = await controllerPods();
      return ps.length === 2 && ps.every((p) => p.status.containerStatuses?.[0]?.ready) ? ps : undefined;
    });
    expect(pods.map((p) => p.metadata.name)).toContain(standby.metadata.name);
    expect(pods.map((p) => p.metadata.name)).not.toContain(leader.metadata.name);
    expect((await leaderPod(pods))?.metadata.name).toBe(newLeader.metadata.name);
    for (const p of pods) expect(p.status.containerStatuses?.[0]?.restartCount, p.metadata.name).toBe(0);

    // Now the hard way: SIGKILL the leader's process (a crash, OOM kill): no release, so the Lease
    // must run out (10 s) before anyone else may take it. The killed container restarts in the same
    // pod under a new identity; whichever replica wins, the dead identity must lose the Lease in 15 s.
    const deadIdentity = (await leaseHolder()) as string;
    const containerId = newLeader.status.containerStatuses?.[0]?.containerID?.replace(/^containerd:\/\//, '');
    if (!containerId) throw new Error(`no container ID in ${newLeader.metadata.name}'s status`);
    const killedAt = Date.now();
    await l().kubelet(NODE).ctr(['tasks', 'kill', '-s', 'SIGKILL', containerId]);
    const crashLeader = await until('a live replica to take the Lease after the crash', 15_000, async () => {
      const holder = await leaseHolder();
      return holder && holder !== deadIdentity ? holder : undefined;
    });
    const crashTakeoverMs = Date.now() - killedAt;
    expect(crashTakeoverMs).toBeLessThan(15_000);
    // Not before the Lease of the dead leader ran out: nobody stole a live Lease.
    expect(crashTakeoverMs).toBeGreaterThan(5_000);
    await apply({
      apiVersion: 'apps.openyurt.io/v1beta2',
      kind: 'NodePool',
      metadata: { name: 'pool-c' },
      spec: { type: 'Cloud' },
    });
    await kubectl(['label', '--overwrite', 'node', NODE, 'apps.openyurt.io/nodepool=pool-c']);
    await until('pool-c status after the crash', 60_000, async () =>
      (await poolStatus('pool-c')).status?.nodes?.join() === NODE ? true : undefined,
    );
    const afterCrash = await until(
      'both replicas ready again, the killed one restarted once',
      90_000,
      async () => {
        const ps = await controllerPods();
        const killed = ps.find((p) => p.metadata.name === newLeader.metadata.name);
        return ps.length === 2 &&
          ps.every((p) => p.status.containerStatuses?.[0]?.ready) &&
          killed?.status.containerStatuses?.[0]?.restartCount === 1
          ? ps
          : undefined;
      },
    );
    expect(afterCrash.map((p) => p.metadata.name).sort()).toEqual(pods.map((p) => p.metadata.name).sort());

    // The in-cluster identity never hit an authorization error.
    for (const p of pods) {
      const log = await kubectl(['logs', '-n', NS, p.metadata.name]);
      expect(log, p.metadata.name).not.toMatch(/: (401|403) |forbidden|unauthorized/i);
    }
    expect(await oldLeaderLog).not.toMatch(/: (401|403) |forbidden|unauthorized/i);
    const killedLog = await kubectl(['logs', '-n', NS, newLeader.metadata.name, '--previous']);
    expect(killedLog).toMatch(/is the leader/);
    expect(killedLog).not.toMatch(/: (401|403) |forbidden|unauthorized/i);
    process.stderr.write(
      `[controller-deployment] ${tookOver} took over ${takeoverMs} ms after the leader pod was deleted; ` +
        `${crashLeader} took over ${crashTakeoverMs} ms after the leader was SIGKILLed\n`,
    );
  }, 600_000);
});
