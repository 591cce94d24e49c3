import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cluster } from './cluster.ts';
import { waitFor } from './proc.ts';

/**
 * kwok manages exactly the nodes carrying this label. It is a label, not an annotation, because
 * the API server tells a label-selector watch when a node stops matching: removing the label
 * makes kwok drop the node and stop renewing its Lease, so kube-controller-manager sees a dead
 * node (an annotation selector is filtered inside kwok and would leave the Lease renewing).
 */
export const KWOK_MANAGED_LABEL = 'kwok.x-k8s.io/node';
export const KWOK_MANAGED_VALUE = 'fake';
/** Kept on kwok nodes even when their heartbeat is stopped: what tests select kwok nodes by. */
export const KWOK_NODE_TYPE_LABEL = 'type';
export const KWOK_NODE_TYPE = 'kwok';
/** kwok nodes carry this NoSchedule taint so only pods that tolerate it land on them. */
export const KWOK_TAINT = { key: 'kwok.x-k8s.io/node', value: 'fake', effect: 'NoSchedule' } as const;
/** Lease duration kwok sets; it renews every quarter of it (5 s). */
export const KWOK_NODE_LEASE_SECONDS = 20;

export interface KwokOptions {
  /** Process name in the cluster's group and log file name; several kwoks need distinct names. */
  name?: string;
  /** InternalIP kwok reports for its nodes; nothing listens there (kwok's kubelet API is off). */
  nodeIp?: string;
  /** Fallback pod IP range for nodes without spec.podCIDR (node-ipam normally assigns one). */
  fallbackPodCidr?: string;
  /** Node Lease duration (renewed every quarter of it); KWOK_NODE_LEASE_SECONDS when omitted. */
  nodeLeaseSeconds?: number;
}

export interface CreateNodesOptions {
  namePrefix?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Start index of the name suffix (`<prefix>-<i>`). */
  startIndex?: number;
}

export interface KwokNodeSpec {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The Node object kwok takes over: its managed label, a `type: kwok` label and taint. */
export function kwokNodeObject(n: KwokNodeSpec) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', ...n.annotations },
      labels: {
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node-role.kubernetes.io/agent': '',
        [KWOK_NODE_TYPE_LABEL]: KWOK_NODE_TYPE,
        [KWOK_MANAGED_LABEL]: KWOK_MANAGED_VALUE,
        ...n.labels,
      },
    },
    spec: { taints: [KWOK_TAINT] },
  };
}

/** A kwok controller simulating nodes and their pods against a lab cluster. */
export class Kwok {
  readonly cluster: Cluster;
  readonly name: string;

  private constructor(cluster: Cluster, name: string) {
    this.cluster = cluster;
    this.name = name;
  }

  /** Starts kwok as one of the cluster's processes (stopped with it, recorded in its state). */
  static async start(cluster: Cluster, opts: KwokOptions = {}): Promise<Kwok> {
    const name = opts.name ?? 'kwok';
    const client = await cluster.pki.issueClientCert(name, `system:${name}`, ['system:masters']);
    const kubeconfig = await cluster.pki.writeKubeconfig(join(cluster.dir, `${name}.kubeconfig`), {
      server: cluster.apiServerUrl,
      user: name,
      client,
    });
    const proc = cluster.processes.start({
      name,
      file: cluster.binaries.kwok,
      args: [
        ...cluster.binaries.kwokStages.flatMap((f) => ['--config', f]),
        `--kubeconfig=${kubeconfig}`,
        '--manage-all-nodes=false',
        `--manage-nodes-with-label-selector=${KWOK_MANAGED_LABEL}=${KWOK_MANAGED_VALUE}`,
        `--node-lease-duration-seconds=${opts.nodeLeaseSeconds ?? KWOK_NODE_LEASE_SECONDS}`,
        `--node-ip=${opts.nodeIp ?? '127.0.0.1'}`,
        `--cidr=${opts.fallbackPodCidr ?? '198.19.192.0/20'}`,
      ],
    });
    // kwok has no readiness endpoint without its server; its log says when the controllers run.
    await waitFor(
      `${name} to start its controllers`,
      async () => /Watch nodes/.test(await readFile(proc.logPath, 'utf8')),
      { timeoutMs: 30_000, proc },
    );
    return new Kwok(cluster, name);
  }

  /** Registers `count` fake nodes kwok brings to Ready; resolves their names once all are Ready. */
  async createNodes(count: number, opts: CreateNodesOptions = {}): Promise<string[]> {
    const prefix = opts.namePrefix ?? 'kwok-node';
    const start = opts.startIndex ?? 0;
    const names = Array.from({ length: count }, (_, i) => `${prefix}-${start + i}`);
    await this.applyNodes(
      names.map((name) => ({ name, labels: opts.labels ?? {}, annotations: opts.annotations ?? {} })),
    );
    return names;
  }

  /** Registers nodes that each carry their own labels/annotations (one apply); waits until all are Ready. */
  async applyNodes(nodes: readonly KwokNodeSpec[]): Promise<void> {
    await this.cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: nodes.map(kwokNodeObject) }),
    });
    const timeout = Math.max(60, nodes.length);
    await this.cluster.kubectl(
      ['wait', '--for=condition=Ready', `--timeout=${timeout}s`, ...nodes.map((n) => `node/${n.name}`)],
      { timeoutMs: (timeout + 10) * 1000 },
    );
  }

  /**
   * Stops kwok's heartbeat (Lease renewals) for one node, as if its kubelet died; kwok also stops
   * updating its pods. kube-controller-manager then marks it Unknown after the grace period.
   */
  async stopHeartbeat(nodeName: string): Promise<void> {
    await this.cluster.kubectl(['label', 'node', nodeName, `${KWOK_MANAGED_LABEL}-`]);
  }

  /** Lets kwok manage the node again; it renews the Lease and reports Ready. */
  async resumeHeartbeat(nodeName: string): Promise<void> {
    await this.cluster.kubectl([
      'label',
      '--overwrite',
      'node',
      nodeName,
      `${KWOK_MANAGED_LABEL}=${KWOK_MANAGED_VALUE}`,
    ]);
  }

  /** Stops the kwok process (its nodes go NotReady after the grace period). */
  async stop(): Promise<void> {
    await this.cluster.processes.stop(this.name);
  }
}

/** What a pod needs to be scheduled on kwok nodes. */
export const KWOK_POD_PLACEMENT = {
  nodeSelector: { [KWOK_NODE_TYPE_LABEL]: KWOK_NODE_TYPE },
  tolerations: [{ key: KWOK_TAINT.key, operator: 'Exists', effect: KWOK_TAINT.effect }],
} as const;
