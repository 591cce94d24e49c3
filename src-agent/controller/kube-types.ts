/** The parts of built-in Kubernetes objects the controller reads and writes. */
import type { KubeObject } from '../api/kube-client.ts';
import type { Condition, Taint } from '../api/nodepool.ts';

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: string;
  tolerationSeconds?: number | null;
}

export interface NodeAddress {
  /** Hostname, InternalIP, ExternalIP, InternalDNS or ExternalDNS. */
  type: string;
  address: string;
}

export interface Node extends KubeObject {
  spec?: { taints?: Taint[]; unschedulable?: boolean };
  status?: {
    conditions?: { type: string; status: string; reason?: string }[];
    addresses?: NodeAddress[];
  };
}

export interface CsrCondition {
  /** Approved, Denied or Failed. */
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

/** certificates.k8s.io/v1 CertificateSigningRequest. */
export interface CertificateSigningRequest extends KubeObject {
  spec: {
    /** Base64 of the PEM PKCS#10 request. */
    request: string;
    signerName: string;
    usages?: string[];
    expirationSeconds?: number;
    /** Who created it, filled in by the API server. */
    username?: string;
    uid?: string;
    groups?: string[];
    extra?: Record<string, string[]>;
  };
  status?: { conditions?: CsrCondition[]; certificate?: string };
}

export interface Pod extends KubeObject {
  spec?: { nodeName?: string; tolerations?: Toleration[]; containers?: { name: string; image: string }[] };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

/** Deployment or StatefulSet, as far as rollout tracking needs. */
export interface Workload extends KubeObject {
  spec?: Record<string, unknown> & { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    conditions?: Condition[];
  };
}

export function isNodeReady(node: Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}
