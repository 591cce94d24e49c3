/**
 * The fleet part of the IPC contract (operations on the API, src-main/fleet): request schemas,
 * responses and events, merged into contract.ts's maps. Every write names its cluster.
 */
import type {
  AutonomyResult,
  BulkNodeResult,
  DrainEvent,
  DrainInfo,
  FleetCapabilities,
  InstallEvent,
  InstallPlan,
  InstallResult,
  YurtAppSetWriteResult,
} from './fleet-types.ts';
import { CLUSTER_ID, DNS_LABEL, DNS_SUBDOMAIN } from './ids.ts';
import type { WireObject } from './types.ts';
import {
  array,
  bool,
  int,
  literal,
  none,
  nullable,
  object,
  optional,
  record,
  refine,
  str,
  type Validator,
} from './validate.ts';

/** Node and pool names are DNS subdomains. */
const DNS_NAME = DNS_SUBDOMAIN;
const NODES = array(DNS_NAME, { max: 5000 });
/** A label/annotation/taint key: optional DNS prefix, then a name of up to 63 characters. */
const QUALIFIED_KEY = str({
  min: 1,
  max: 317,
  pattern: /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/,
});
const LABEL_VALUE = str({ max: 63, pattern: /^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$/ });
const LABELS = record(QUALIFIED_KEY, LABEL_VALUE, { max: 200 });
const ANNOTATIONS = record(QUALIFIED_KEY, str({ max: 65_536 }), { max: 200 });
const TAINTS = array(
  object({
    key: QUALIFIED_KEY,
    value: optional(LABEL_VALUE),
    effect: literal('NoSchedule', 'PreferNoSchedule', 'NoExecute'),
  }),
  { max: 50 },
);
/** A Go duration as the autonomy annotation takes it: "0", "90s", "1h30m", "1.5h". */
const GO_DURATION = str({ min: 1, max: 32, pattern: /^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$/ });
const IMAGE = str({ min: 1, max: 512, pattern: /^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/ });
const POOLS = array(DNS_NAME, { max: 1000 });
const POOL_FIELDS = {
  labels: optional(LABELS),
  annotations: optional(ANNOTATIONS),
  taints: optional(TAINTS),
  hostNetwork: optional(bool()),
};

const INSTALL_OPTIONS = {
  image: optional(IMAGE),
  webhook: optional(bool()),
  /** For clusters without kube-proxy: the API server as pods reach it. */
  apiServerForPods: optional(
    object({
      host: str({ min: 1, max: 253, pattern: /^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$/ }),
      port: int({ min: 1, max: 65_535 }),
    }),
  ),
};

const exactlyOne =
  (...keys: string[]) =>
  (v: object): string | undefined =>
    keys.filter((k) => (v as Record<string, unknown>)[k] !== undefined).length === 1
      ? undefined
      : `give exactly one of ${keys.join(', ')}`;

export const FLEET_REQUEST_SCHEMAS = {
  /** What this user may do here (SelfSubjectAccessReview per action), what is served, which controller runs. */
  'fleet:capabilities': object({ clusterId: CLUSTER_ID, namespace: optional(DNS_LABEL) }),
  'fleet:nodepools:create': object({
    clusterId: CLUSTER_ID,
    name: DNS_NAME,
    type: literal('Edge', 'Cloud'),
    ...POOL_FIELDS,
  }),
  /** Sets the given fields to exactly these values (a label not in `labels` is removed); others stay. */
  'fleet:nodepools:edit': object({
    clusterId: CLUSTER_ID,
    name: DNS_NAME,
    type: optional(literal('Edge', 'Cloud')),
    ...POOL_FIELDS,
  }),
  /** Refused while nodes are members; a dry run goes first. */
  'fleet:nodepools:delete': object({ clusterId: CLUSTER_ID, name: DNS_NAME }),
  /** Puts nodes into a pool (moving them), or out of every pool with `pool: null`. */
  'fleet:nodes:assignPool': object({ clusterId: CLUSTER_ID, nodes: NODES, pool: nullable(DNS_NAME) }),
  /** `duration` null clears the annotation. Target: `nodes` or every member of `pool`. */
  'fleet:nodes:setAutonomy': refine(
    object({
      clusterId: CLUSTER_ID,
      nodes: optional(NODES),
      pool: optional(DNS_NAME),
      duration: nullable(GO_DURATION),
    }),
    exactlyOne('nodes', 'pool'),
  ),
  'fleet:nodes:cordon': object({ clusterId: CLUSTER_ID, nodes: NODES }),
  'fleet:nodes:uncordon': object({ clusterId: CLUSTER_ID, nodes: NODES }),
  /** Answers once the node is cordoned; per-pod progress and the end follow as `fleet:drain` events. */
  'fleet:drain:start': object({
    clusterId: CLUSTER_ID,
    node: DNS_NAME,
    timeoutSeconds: optional(int({ min: 5, max: 86_400 })),
    gracePeriodSeconds: optional(int({ min: 0, max: 86_400 })),
    /** Also evict pods no controller manages (they are deleted for good). */
    force: optional(bool()),
  }),
  'fleet:drain:cancel': object({ drainId: str({ min: 1, max: 100, pattern: /^[A-Za-z0-9._-]+$/ }) }),
  /** Drains running or finished since the app started (for a renderer that reloads). */
  'fleet:drain:list': none(),
  'fleet:yurtappsets:create': refine(
    object({
      clusterId: CLUSTER_ID,
      namespace: DNS_LABEL,
      name: DNS_LABEL,
      image: IMAGE,
      replicas: int({ min: 0, max: 10_000 }),
      containerName: optional(DNS_LABEL),
      ports: optional(
        array(
          object({
            containerPort: int({ min: 1, max: 65_535 }),
            name: optional(str({ min: 1, max: 15, pattern: /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/ })),
            protocol: optional(literal('TCP', 'UDP', 'SCTP')),
          }),
          { max: 50 },
        ),
      ),
      pools: optional(POOLS),
      poolSelector: optional(LABELS),
      tweaks: optional(
        array(
          object({ pools: POOLS, replicas: optional(int({ min: 0, max: 10_000 })), image: optional(IMAGE) }),
          { max: 100 },
        ),
      ),
    }),
    exactlyOne('pools', 'poolSelector'),
  ),
  /** One YurtAppSet as YAML or JSON; `force` takes over fields another field manager owns. */
  'fleet:yurtappsets:apply': object({
    clusterId: CLUSTER_ID,
    manifest: str({ min: 1, max: 1_048_576 }),
    namespace: optional(DNS_LABEL),
    force: optional(bool()),
  }),
  /** A new image for the template's container (rolled out pool by pool by the controller). */
  'fleet:yurtappsets:setImage': object({
    clusterId: CLUSTER_ID,
    namespace: DNS_LABEL,
    name: DNS_LABEL,
    image: IMAGE,
    container: optional(DNS_LABEL),
  }),
  /** Holds (true) or releases (false) the rollout; only EdgeFleet's controller honours it. */
  'fleet:yurtappsets:setPaused': object({
    clusterId: CLUSTER_ID,
    namespace: DNS_LABEL,
    name: DNS_LABEL,
    paused: bool(),
  }),
  /** What installing EdgeFleet would change (server-side dry run), or why it is refused. */
  'fleet:install:plan': object({ clusterId: CLUSTER_ID, ...INSTALL_OPTIONS }),
  /** Applies it; per-object progress follows as `fleet:install` events. */
  'fleet:install:apply': object({ clusterId: CLUSTER_ID, ...INSTALL_OPTIONS }),
} satisfies Record<string, Validator<unknown>>;

export interface FleetResponseMap {
  'fleet:capabilities': FleetCapabilities;
  'fleet:nodepools:create': WireObject;
  'fleet:nodepools:edit': WireObject;
  'fleet:nodepools:delete': null;
  'fleet:nodes:assignPool': BulkNodeResult;
  'fleet:nodes:setAutonomy': AutonomyResult;
  'fleet:nodes:cordon': BulkNodeResult;
  'fleet:nodes:uncordon': BulkNodeResult;
  'fleet:drain:start': DrainInfo;
  'fleet:drain:cancel': null;
  'fleet:drain:list': DrainInfo[];
  'fleet:yurtappsets:create': YurtAppSetWriteResult;
  'fleet:yurtappsets:apply': YurtAppSetWriteResult;
  'fleet:yurtappsets:setImage': YurtAppSetWriteResult;
  'fleet:yurtappsets:setPaused': YurtAppSetWriteResult;
  'fleet:install:plan': InstallPlan;
  'fleet:install:apply': InstallResult;
}

export interface FleetEventMap {
  /** A drained pod changed state, or a drain ended (`info` set). */
  'fleet:drain': DrainEvent;
  /** An object of a running install changed state. */
  'fleet:install': InstallEvent;
}
export const FLEET_EVENT_CHANNELS = ['fleet:drain', 'fleet:install'] as const;
