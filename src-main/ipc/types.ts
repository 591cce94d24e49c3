/**
 * Wire types shared by main and renderer. Everything here is plain JSON (no classes, no Dates,
 * no Buffers) so the same messages travel over Electron IPC and the browser host's WebSocket.
 */
import type { IpcError } from './errors.ts';

// ── Vault ────────────────────────────────────────────────────────────────────────────────────
/**
 * keychain: secrets persist in the OS Secret Service / Keychain.
 * unavailable: no keychain; storing a secret fails until the user accepts session-only memory.
 * session-memory: no keychain; the user accepted keeping secrets in memory until the app exits.
 */
export type VaultBackend = 'keychain' | 'unavailable' | 'session-memory';

export interface VaultStatus {
  backend: VaultBackend;
  /** One sentence the UI can show as is. */
  detail: string;
  fix?: string;
  /** Secrets the app currently holds references to (not their values). */
  entries: number;
}

// ── Cluster sources ──────────────────────────────────────────────────────────────────────────
/**
 * default: ~/.kube/config; env: one file listed in $KUBECONFIG; imported: copied into settings + vault;
 * demo: the local demo fleet's kubeconfig, listed while the demo runs.
 */
export type ClusterSourceKind = 'default' | 'env' | 'imported' | 'demo';

export interface ClusterContextInfo {
  /** `<sourceId>/<contextName>`: unique across sources even when two files reuse a context name. */
  clusterId: string;
  context: string;
  cluster: string;
  user: string;
  server: string;
  namespace?: string;
  /** How the user authenticates, so the UI can say why a connect might prompt or fail. */
  auth: 'client-certificate' | 'token' | 'basic' | 'exec' | 'auth-provider' | 'none';
}

export interface ClusterSourceInfo {
  id: string;
  kind: ClusterSourceKind;
  /** The file this source was read (or imported) from. */
  path: string;
  readOnly: boolean;
  contexts: ClusterContextInfo[];
  currentContext?: string;
  /** Set when the file could not be read or parsed; `contexts` is then empty. */
  error?: IpcError;
}

// ── Live cluster state ───────────────────────────────────────────────────────────────────────
/**
 * What crosses IPC, per kind. Main also watches node Leases (folded into `heartbeats`) and
 * controller Leases (for the flavor), but never sends Lease objects: 5,000 nodes renew every
 * 10 s. `events` is the fleet feed, not every Event: Warning events only (plus the transitions
 * main derives itself), ring-bounded to EVENT_RING_SIZE; one object's events of every type
 * are asked for by the view that shows them (`events:watchObject`).
 */
export const RESOURCE_KINDS = [
  'nodes',
  'nodepools',
  'yurtappsets',
  'pods',
  'services',
  'endpointslices',
  'events',
] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/**
 * connecting: first contact in progress. connected: every watch is live.
 * reconnecting: a watch broke and we are retrying; data shown is the last known.
 * unreachable: retries keep failing; data shown is the last-known snapshot of age `now - lastContactAt`.
 */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'unreachable';

export interface ConnectionInfo {
  state: ConnectionState;
  /** ISO time the state was entered. */
  since: string;
  /** ISO time of the last successful exchange with the API server (age of the data shown). */
  lastContactAt?: string;
  lastError?: IpcError;
}

/**
 * Per resource: synced (live), syncing (first list running), forbidden (RBAC said no: the UI
 * shows that, not an empty list), absent (the API server does not serve it, e.g. no CRD), error.
 */
export interface ResourceState {
  status: 'syncing' | 'synced' | 'forbidden' | 'absent' | 'error';
  message?: string;
}

/**
 * Metadata every wire object keeps. The key of an object is `namespace/name`, or `name` for
 * cluster-scoped kinds (wireKey in src-main/ipc/wire-key.ts).
 */
export interface WireMeta {
  name: string;
  namespace?: string;
  uid?: string;
  /** resourceVersion: lets both sides skip an unchanged object. */
  rv?: string;
  createdAt?: string;
  /** Set while the object is being deleted (deletionTimestamp). */
  deleting?: boolean;
  labels?: Record<string, string>;
}

export interface ConditionWire {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  /** lastTransitionTime */
  since?: string;
  /** lastHeartbeatTime (node conditions) */
  heartbeat?: string;
}

export interface TaintWire {
  key: string;
  value?: string;
  effect: string;
}

/** A Node without what no view shows (status.images alone is most of a node's bytes). */
export interface NodeWire extends WireMeta {
  /** Only the edge-relevant annotations (autonomy, binding, ours); not kubectl's or CNI's. */
  annotations?: Record<string, string>;
  unschedulable?: boolean;
  taints?: TaintWire[];
  conditions: ConditionWire[];
  addresses?: { type: string; address: string }[];
  kubeletVersion?: string;
  arch?: string;
  os?: string;
  osImage?: string;
  containerRuntime?: string;
  capacity?: { cpu?: string; memory?: string; pods?: string };
  podCidr?: string;
}

export interface NodePoolWire extends WireMeta {
  annotations?: Record<string, string>;
  type: string;
  hostNetwork?: boolean;
  /** What the pool puts on its member nodes (spec.labels / annotations / taints). */
  nodeLabels?: Record<string, string>;
  nodeAnnotations?: Record<string, string>;
  nodeTaints?: TaintWire[];
  /** As the controller last reported; `status.nodes` (a name per member) is not sent. */
  reported?: { ready: number; notReady: number };
  conditions?: ConditionWire[];
}

export interface LabelSelectorWire {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

export interface YurtAppSetWire extends WireMeta {
  generation?: number;
  pools?: string[];
  nodepoolSelector?: LabelSelectorWire;
  workloadKind: 'Deployment' | 'StatefulSet';
  /** Template replicas and the first container's image. */
  replicas?: number;
  image?: string;
  /** Per-pool tweaks, as in spec.workload.workloadTweaks (small). */
  tweaks?: {
    pools?: string[];
    nodepoolSelector?: LabelSelectorWire;
    replicas?: number;
    images?: { name: string; targetImage: string }[];
  }[];
  /** The pause annotation is set (the controller's condition says whether it has held the rollout yet). */
  pauseRequested?: true;
  status?: {
    observedGeneration?: number;
    readyWorkloads?: number;
    updatedWorkloads?: number;
    totalWorkloads?: number;
    conditions?: ConditionWire[];
  };
}

export interface PodWire extends WireMeta {
  namespace: string;
  node?: string;
  phase?: string;
  ready: boolean;
  restarts: number;
  /** The controlling owner, e.g. ReplicaSet/web-7c9f or StatefulSet/db. */
  owner?: { kind: string; name: string };
  /** First container's image. */
  image?: string;
  /**
   * The app containers in spec order (what logs and a shell can pick), each with its restart
   * count, so "previous run" is offered only for a container that has one. Init containers are left out.
   */
  containers?: { name: string; restarts: number }[];
  /** Why it is not running, from the first waiting/terminated container (e.g. ImagePullBackOff). */
  reason?: string;
  podIp?: string;
}

export interface ServiceWire extends WireMeta {
  namespace: string;
  type?: string;
  clusterIp?: string;
  ports?: { name?: string; port: number; protocol?: string; nodePort?: number }[];
  selector?: Record<string, string>;
  /** `openyurt.io/topologyKeys`, when set. */
  topologyKeys?: string;
}

export interface EndpointSliceWire extends WireMeta {
  namespace: string;
  /** kubernetes.io/service-name */
  service?: string;
  endpoints: { address: string; node?: string; zone?: string; ready: boolean; pod?: string }[];
}

/**
 * A whole Kubernetes object as main handles it outside the live view (what a fleet operation
 * wrote or read back): managedFields and last-applied config removed.
 */
export interface WireObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  };
  [field: string]: unknown;
}

/** The fleet feed keeps the most recently changed events, this many per cluster (oldest dropped). */
export const EVENT_RING_SIZE = 1_000;
/** Event messages are cut to this many characters (some controllers write kilobytes). */
export const EVENT_MESSAGE_MAX = 500;

/**
 * One Kubernetes Event (core/v1), or one transition main derived from state it already watches
 * (type `Derived`: node went not ready / cut off but autonomous / ready again, a pool below all
 * ready, a rollout paused). Derived events are cluster-scoped wire objects named `derived.…`.
 */
export interface EventWire extends WireMeta {
  type: 'Warning' | 'Normal' | 'Derived';
  /** Whether it says something is wrong: Warning events, and derived ones like "not ready". */
  severity: 'warning' | 'info';
  reason: string;
  /** Cut to EVENT_MESSAGE_MAX characters. */
  message: string;
  /** How often it happened (core/v1 count, or series.count), merged across updates by uid. */
  count: number;
  /** First and last time it happened; for a derived event both are when the state was entered. */
  firstAt?: string;
  lastAt?: string;
  source?: { component?: string; host?: string };
  /** The object it is about (involvedObject / regarding). */
  object: { kind: string; namespace?: string; name: string };
}

/** One object's events of every type, as `events:object` pushes them (the whole bounded list each time). */
export interface ObjectEventsUpdate {
  watchId: string;
  clusterId: string;
  state: ResourceState;
  /** Newest first, at most OBJECT_EVENTS_MAX. */
  items: EventWire[];
  at: string;
}
export const OBJECT_EVENTS_MAX = 100;

export interface WireByKind {
  nodes: NodeWire;
  nodepools: NodePoolWire;
  yurtappsets: YurtAppSetWire;
  pods: PodWire;
  services: ServiceWire;
  endpointslices: EndpointSliceWire;
  events: EventWire;
}
export type AnyWire = WireByKind[ResourceKind];

/** Which edge control plane the cluster runs, and hence what the app can do there. */
export interface ClusterFlavor {
  kind: 'edgefleet' | 'openyurt' | 'none' | 'unknown';
  /** CRDs served under apps.openyurt.io. */
  nodePools: boolean;
  yurtAppSets: boolean;
  /** The controller we recognised (by its leader-election Lease), if any. */
  controller?: { namespace: string; name: string; holder?: string; renewedAt?: string };
  /** User-facing capabilities, e.g. "manage node pools", "convert nodes". */
  capabilities: string[];
  explanation: string;
}

export interface ResourceSnapshot<K extends ResourceKind = ResourceKind> {
  state: ResourceState;
  items: WireByKind[K][];
}

export interface ClusterSnapshot {
  clusterId: string;
  /** Diffs for this cluster carry seq > this; a gap means the renderer must ask for a new snapshot. */
  seq: number;
  takenAt: string;
  connection: ConnectionInfo;
  flavor: ClusterFlavor;
  resources: { [K in ResourceKind]: ResourceSnapshot<K> };
  /** Node name → its Lease's last renewTime (the node's last heartbeat). */
  heartbeats: Record<string, string>;
}

export interface ResourceDiff<K extends ResourceKind = ResourceKind> {
  state?: ResourceState;
  /** Objects (reduced) that were added or changed since the previous diff. */
  upserts: WireByKind[K][];
  /** Keys `namespace/name` (or `name` for cluster-scoped) that were deleted. */
  removes: string[];
}

/** Everything that changed in one batch window; many object events → one message. */
export interface ClusterDiff {
  clusterId: string;
  seq: number;
  at: string;
  connection?: ConnectionInfo;
  flavor?: ClusterFlavor;
  resources: { [K in ResourceKind]?: ResourceDiff<K> };
  /** Heartbeats that moved (each node at most once per few seconds). */
  heartbeats?: Record<string, string>;
}

// ── Provisioning progress ────────────────────────────────────────────────────────────────────
export interface ProvisionProgress {
  runId: string;
  host: string;
  step: string;
  stepIndex: number;
  stepCount: number;
  status: 'running' | 'done' | 'failed' | 'skipped';
  /** 0–100 for the step (uploads report real progress; other steps 0 then 100). */
  percent: number;
  bytes?: { sent: number; total: number };
  message?: string;
  error?: IpcError;
}

export interface ProvisionLogLine {
  runId: string;
  host: string;
  at: string;
  stream: 'stdout' | 'stderr' | 'info';
  line: string;
}

/** Progress is coalesced per host and step over a short window: one message carries many hosts. */
export interface ProvisionProgressBatch {
  runId: string;
  items: ProvisionProgress[];
}

export interface ProvisionLogBatch {
  runId: string;
  lines: ProvisionLogLine[];
  /** Lines left out of this live batch to keep the UI responsive (the run's log file has them all). */
  omitted?: number;
}

// ── Sites and hosts (provisioning targets) ────────────────────────────────────────────────────
/** SSH credentials by vault reference only; the secrets themselves never leave main. */
export type SshAuthRef =
  | { kind: 'key'; privateKeyRef: string; passphraseRef?: string }
  | { kind: 'password'; passwordRef: string }
  | { kind: 'agent' };

export interface SiteHost {
  /** Made by main: `<site>/<name>`. */
  id: string;
  site: string;
  /** What the user calls this host (usually its node name). */
  name: string;
  address: string;
  port: number;
  user: string;
  auth: SshAuthRef;
  /** Reach this host through another registered host (SSH jump). */
  jumpHostId?: string;
  /** Reach this host's sshd through the EdgeFleet tunnel (NATed sites). */
  viaTunnel?: boolean;
}

/**
 * How the app reaches the sshd of a site's "via tunnel" hosts: the operator access door of the
 * EdgeFleet tunnel server (mTLS). The client key is in the vault; only its reference is here.
 */
export interface TunnelAccessProfile {
  /** The site whose via-tunnel hosts use this door. */
  site: string;
  /** Address of the tunnel server's access door (default port 10264). */
  door: { host: string; port: number };
  /** PEM of the CA that signed the tunnel server's certificate. */
  caPem: string;
  /** PEM of the operator client certificate (its CN or O must be allowed on the door). */
  certPem: string;
  /** `vault:tunnel-client-key/<id>`: the client certificate's private key. */
  keyRef: string;
  /** Name to verify the server certificate against when the door address is not in it. */
  serverName?: string;
}

/** Result of checking a host's SSH key: trusted, or unknown with the fingerprint to show the user. */
export type HostKeyCheck =
  | { status: 'trusted'; host: string; port: number }
  | { status: 'unknown'; host: string; port: number; keyType: string; fingerprint: string };

export type ProvisionOperation = 'preflight' | 'convert' | 'join' | 'revert' | 'upgrade';

/** What happened to one host in a run (the per-host summary). */
export interface ProvisionHostResult {
  host: string;
  plan: string;
  status: 'done' | 'failed' | 'refused' | 'interrupted';
  /** Steps that ran apply() in this run (or the resumed runs before it). */
  applied: string[];
  /** Steps found already done by their check(). */
  skipped: string[];
  /** Steps whose undo ran after a failure. */
  rolledBack: string[];
  failedStep?: string;
  error?: IpcError;
  /** Problems while rolling back: the host may need attention. */
  rollbackErrors?: IpcError[];
  bytesSent: number;
  durationMs: number;
  logFile: string;
  /** Set when the run stopped at an unknown host key: what to show for acceptance. */
  hostKey?: { host: string; port: number; keyType: string; fingerprint: string };
}

export interface ProvisionRunInfo {
  runId: string;
  operation: ProvisionOperation;
  /** Host ids in the run. */
  hosts: string[];
  startedAt: string;
  state: 'running' | 'finished' | 'cancelled';
  summary?: {
    durationMs: number;
    bytesSent: number;
    counts: Record<ProvisionHostResult['status'], number>;
    hosts: ProvisionHostResult[];
  };
}
