/**
 * Wire types of the fleet operations (src-main/fleet): writes to a cluster and what the user may
 * do there. Plain JSON like everything in types.ts; kept apart from the live-state types.
 */
import type { IpcError } from './errors.ts';
import type { WireObject } from './types.ts';

export type NodePoolType = 'Edge' | 'Cloud';
export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

export interface PoolTaint {
  key: string;
  value?: string;
  effect: TaintEffect;
}

/** One node of a bulk write. `previous` is the value before the change, for an undo (null = unset). */
export interface NodeWriteResult {
  node: string;
  ok: boolean;
  /** Nothing to change: the node already had the wanted value. */
  unchanged?: boolean;
  previous?: string | null;
  error?: IpcError;
}

export interface BulkNodeResult {
  results: NodeWriteResult[];
  changed: number;
  failed: number;
}

/** What an autonomy duration makes the controller do to the pods of a node. */
export interface AutonomyEffect {
  /**
   * tolerationSeconds set on pods' not-ready/unreachable NoExecute tolerations: a number, null =
   * tolerated forever (never evicted), "restored" = autonomy cleared, the pods' original tolerations
   * (usually 300 s from DefaultTolerationSeconds) come back.
   */
  tolerationSeconds: number | null | 'restored';
  summary: string;
}

export interface AutonomyNodeResult extends NodeWriteResult {
  /** The node's Autonomy condition as last reported by its hub: will autonomy work there. */
  autonomyCondition?: { status: string; reason?: string; message?: string };
}

export interface AutonomyResult {
  /** The duration written (Go duration, "0" = never evict), or null when cleared. */
  duration: string | null;
  effect: AutonomyEffect;
  results: AutonomyNodeResult[];
  changed: number;
  failed: number;
}

// ── Drain ────────────────────────────────────────────────────────────────────────────────────
export type DrainPodStatus = 'pending' | 'evicting' | 'blocked' | 'evicted' | 'skipped' | 'failed';

export interface DrainPod {
  namespace: string;
  name: string;
  status: DrainPodStatus;
  /** Why skipped/blocked/failed, e.g. "DaemonSet pod", "blocked by PDB web (0 disruptions allowed)". */
  reason?: string;
  /** The PodDisruptionBudget that blocks (or blocked) this pod's eviction. */
  pdb?: string;
  attempts?: number;
}

export type DrainState = 'running' | 'done' | 'blocked' | 'cancelled' | 'failed' | 'timed-out';

export interface DrainInfo {
  drainId: string;
  clusterId: string;
  node: string;
  startedAt: string;
  state: DrainState;
  pods: DrainPod[];
  finishedAt?: string;
  error?: IpcError;
}

/** One pod changed state (pod set), or the drain ended (info set, with every pod's last state). */
export interface DrainEvent {
  drainId: string;
  clusterId: string;
  node: string;
  at: string;
  pod?: DrainPod;
  info?: DrainInfo;
}

// ── YurtAppSets ──────────────────────────────────────────────────────────────────────────────
export interface AppPort {
  containerPort: number;
  name?: string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

export interface PoolTweak {
  pools: string[];
  replicas?: number;
  image?: string;
}

/** Paused/resumed rollouts are not offered: neither our controller nor OpenYurt's has a pause. */
export interface YurtAppSetWriteResult {
  object: WireObject;
  /** The served version written (apps.openyurt.io/v1beta1). */
  apiVersion: string;
}

// ── Capabilities ─────────────────────────────────────────────────────────────────────────────
export type FleetAction =
  | 'nodepools:create'
  | 'nodepools:edit'
  | 'nodepools:delete'
  | 'nodes:assign-pool'
  | 'nodes:autonomy'
  | 'nodes:cordon'
  | 'nodes:drain'
  | 'yurtappsets:create'
  | 'yurtappsets:edit'
  | 'yurtappsets:pause'
  | 'pods:log'
  | 'pods:exec';

/** A rule that would allow what was refused, as an admin writes it into a (Cluster)Role. */
export interface RbacRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  /** Set for namespaced resources checked in one namespace: a Role there would do. */
  namespace?: string;
}

export interface FleetCapability {
  action: FleetAction;
  /** What the UI lists, e.g. "create node pools". */
  label: string;
  enabled: boolean;
  /** Why disabled (or what to know while enabled, e.g. "nothing reconciles pools"). */
  reason?: string;
  /** When RBAC is why: the rules that would allow it. */
  missing?: RbacRule[];
}

export interface ControlPlaneInfo {
  kind: 'edgefleet' | 'openyurt' | 'none' | 'unknown';
  /** What we saw, e.g. "Lease kube-system/yurt-manager", "Deployment kube-system/yurt-manager". */
  evidence: string[];
  explanation: string;
}

export interface FleetCapabilities {
  clusterId: string;
  checkedAt: string;
  /** Who the API server says the user is (SelfSubjectReview), when it says. */
  user?: string;
  controlPlane: ControlPlaneInfo;
  /** Served versions (discovery): the preferred one per resource, absent when not served. */
  served: { nodePools?: string; yurtAppSets?: string };
  actions: FleetCapability[];
}
