/**
 * What provisioning needs from the cluster, seen from the laptop: its CA (to tell "this node
 * belongs to another cluster"), nodes (name collisions, readiness), node metadata patches (pool
 * label, autonomy annotation), and a drain + delete for a machine that leaves. It goes through
 * the fleet's one write client (src-main/fleet/kube.ts) with the source's KubeConfig, so every
 * user that can view a cluster — client certificates, tokens, exec plugins — can provision it.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { apiError } from '../fleet/api-errors.ts';
import { Drain } from '../fleet/drain.ts';
import { accessOf, CORE, FleetKube } from '../fleet/kube.ts';
import { AppError } from '../ipc/errors.ts';

export interface NodeInfo {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  addresses: { type: string; address: string }[];
  ready?: { status: string; lastHeartbeatTime?: string };
}

export interface ClusterAccess {
  /** API server URL as the laptop reaches it. */
  readonly server: string;
  /** PEM of the cluster CA. */
  readonly caPem: string;
  getNode(name: string): Promise<NodeInfo | undefined>;
  /** JSON merge patch of metadata.labels / metadata.annotations (null deletes a key). */
  patchNodeMetadata(
    name: string,
    meta: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> },
  ): Promise<void>;
  /**
   * Cordons the node and evicts its pods (PodDisruptionBudgets respected, DaemonSet and mirror
   * pods left), logging each pod's progress; throws when the drain does not finish in time.
   */
  drainNode(name: string, log: (line: string) => void, timeoutMs?: number): Promise<void>;
  /** Deletes the Node object (a machine that leaves the cluster); absent already is fine. */
  deleteNode(name: string): Promise<void>;
  close(): void;
}

interface NodeObject {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  status?: {
    addresses?: { type: string; address: string }[];
    conditions?: { type: string; status: string; lastHeartbeatTime?: string }[];
  };
}

/** SHA256 of a PEM certificate's DER, to compare CAs whatever their PEM formatting. */
export function certFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** A kubeconfig file's context, for tools and tests that start from a path. */
export function kubeClusterAccess(kubeconfigPath: string, context?: string): ClusterAccess {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  if (context) kc.setCurrentContext(context);
  return kubeConfigClusterAccess(kc);
}

/** The PEM of the cluster CA the context names (inline or a file), which nodes must trust. */
function clusterCaPem(kc: KubeConfig): string {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new AppError('provision/no-cluster', 'The kubeconfig context has no cluster');
  const pem = cluster.caData
    ? Buffer.from(cluster.caData, 'base64').toString('utf8')
    : cluster.caFile
      ? readFileSync(cluster.caFile, 'utf8')
      : undefined;
  if (!pem?.includes('BEGIN CERTIFICATE'))
    throw new AppError(
      'provision/no-ca',
      `The kubeconfig of ${cluster.server} names no cluster CA; nodes need it to trust the API server`,
      'Import a kubeconfig whose cluster has certificate-authority-data (kubectl config view --raw --minify shows it).',
    );
  return pem;
}

export function kubeConfigClusterAccess(kc: KubeConfig, kube = new FleetKube(kc)): ClusterAccess {
  const server = kc.getCurrentCluster()?.server ?? '';
  const caPem = clusterCaPem(kc);
  return {
    server,
    caPem,
    async getNode(name) {
      const ref = CORE('nodes', name);
      const res = await kube.call('GET', ref);
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw apiError(res.status, res.body, accessOf('GET', ref), `node ${name}`);
      const n = res.body as NodeObject;
      const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
      return {
        name: n.metadata.name,
        labels: n.metadata.labels ?? {},
        annotations: n.metadata.annotations ?? {},
        addresses: n.status?.addresses ?? [],
        ...(ready
          ? {
              ready: {
                status: ready.status,
                ...(ready.lastHeartbeatTime ? { lastHeartbeatTime: ready.lastHeartbeatTime } : {}),
              },
            }
          : {}),
      };
    },
    async patchNodeMetadata(name, meta) {
      await kube.mergePatch(CORE('nodes', name), { metadata: meta });
    },
    async drainNode(name, log, timeoutMs = 120_000) {
      // force: the Node is deleted next, and the pod GC takes unmanaged pods with it anyway.
      const drain = new Drain(
        `revert-${name}`,
        server,
        name,
        kube,
        (e) => {
          if (e.pod)
            log(
              `drain ${name}: ${e.pod.namespace}/${e.pod.name} ${e.pod.status}${e.pod.reason ? ` (${e.pod.reason})` : ''}`,
            );
        },
        { timeoutMs, force: true },
      );
      const info = await (await drain.start()).done;
      if (info.state !== 'done')
        throw new AppError(
          'provision/drain-failed',
          `Draining node ${name} ended ${info.state}${info.error ? `: ${info.error.message}` : ''}; ${info.pods.filter((p) => !['evicted', 'skipped'].includes(p.status)).length} pod(s) still on it`,
          'Look at the pods that stayed (a PodDisruptionBudget may hold them), then revert again.',
        );
    },
    async deleteNode(name) {
      const ref = CORE('nodes', name);
      const res = await kube.call('DELETE', ref);
      if (res.status === 404 || (res.status >= 200 && res.status < 300)) return;
      throw apiError(res.status, res.body, accessOf('DELETE', ref), `node ${name}`);
    },
    close: () => undefined,
  };
}
