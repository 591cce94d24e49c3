/**
 * What provisioning needs from the cluster, seen from the laptop: its CA (to tell "this node
 * belongs to another cluster"), nodes (name collisions, readiness) and node metadata patches
 * (pool label, autonomy annotation). Backed by the agent API's small REST client.
 */
import { X509Certificate } from 'node:crypto';
import {
  KubeApiError,
  KubeClient,
  type KubeConnection,
  kubeconfigConnection,
  RESOURCES,
} from '../../src-agent/api/kube-client.ts';

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

export function kubeClusterAccess(kubeconfigPath: string, context?: string): ClusterAccess {
  const conn = kubeconfigConnection(kubeconfigPath, context);
  if (!conn.ca) throw new Error(`kubeconfig ${kubeconfigPath} has no cluster CA; provisioning needs it`);
  return connectionClusterAccess(conn);
}

/** The same from resolved connection settings (the app's cluster sources, secrets from the vault). */
export function connectionClusterAccess(conn: KubeConnection): ClusterAccess {
  if (!conn.ca) throw new Error(`cluster ${conn.server} has no CA in its kubeconfig; provisioning needs it`);
  const client = new KubeClient(conn, 'edgefleet-app/provision');
  return {
    server: conn.server,
    caPem: conn.ca.toString('utf8'),
    async getNode(name) {
      const n = await client.getOrUndefined<NodeObject>(RESOURCES.nodes, name);
      if (!n) return undefined;
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
      await client.patch(RESOURCES.nodes, name, { metadata: meta }, { type: 'merge' });
    },
    async deleteNode(name) {
      await client.delete(RESOURCES.nodes, name).catch((e: unknown) => {
        if (!(e instanceof KubeApiError && e.status === 404)) throw e;
      });
    },
    close: () => client.close(),
  };
}
