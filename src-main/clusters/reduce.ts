/**
 * Reduces API objects to their wire shapes (src-main/ipc/types.ts) as they arrive, page by
 * page, so main never holds full pod specs or node image lists: at 5,000 nodes and 50,000 pods
 * the full objects are hundreds of MB, the reduced ones a few tens.
 */
import {
  ANNOTATION_AUTONOMY_DURATION,
  ANNOTATION_AUTONOMY_LEGACY,
  ANNOTATION_BINDING,
  ANNOTATION_TOPOLOGY_KEYS,
} from '../../src-agent/api/labels.ts';
import { rolloutPauseRequested } from '../../src-agent/api/rollout-condition.ts';
import {
  type ConditionWire,
  type EndpointSliceWire,
  EVENT_MESSAGE_MAX,
  type EventWire,
  type LabelSelectorWire,
  type NodePoolWire,
  type NodeWire,
  type PodWire,
  type ResourceKind,
  type ServiceWire,
  type TaintWire,
  type WireByKind,
  type WireMeta,
  type YurtAppSetWire,
} from '../ipc/types.ts';

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
const asArr = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const strMap = (v: unknown): Record<string, string> | undefined => {
  if (!v || typeof v !== 'object') return undefined;
  const entries = Object.entries(v as Obj).filter(([, x]) => typeof x === 'string') as [string, string][];
  return entries.length ? Object.fromEntries(entries) : undefined;
};

/** Drops undefined fields so the JSON on the wire carries no empty keys. */
function clean<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function meta(o: Obj): WireMeta {
  const m = asObj(o.metadata);
  return clean({
    name: str(m.name) ?? '',
    namespace: str(m.namespace),
    uid: str(m.uid),
    rv: str(m.resourceVersion),
    createdAt: str(m.creationTimestamp),
    deleting: m.deletionTimestamp ? true : undefined,
    labels: strMap(m.labels),
  });
}

function conditions(v: unknown): ConditionWire[] {
  return asArr(v).map((c) =>
    clean({
      type: str(c.type) ?? '',
      status: (str(c.status) ?? 'Unknown') as ConditionWire['status'],
      reason: str(c.reason),
      message: str(c.message),
      since: str(c.lastTransitionTime),
      heartbeat: str(c.lastHeartbeatTime),
    }),
  );
}

function taints(v: unknown): TaintWire[] | undefined {
  const t = asArr(v).map((x) =>
    clean({ key: str(x.key) ?? '', value: str(x.value), effect: str(x.effect) ?? '' }),
  );
  return t.length ? t : undefined;
}

/** Node annotations a view or a rule reads; kubectl's, CNI's and volume annotations stay in the API server. */
const EDGE_ANNOTATION = (key: string) =>
  key === ANNOTATION_AUTONOMY_DURATION ||
  key === ANNOTATION_AUTONOMY_LEGACY ||
  key === ANNOTATION_BINDING ||
  key.includes('openyurt.io/') ||
  key.startsWith('edgefleet.io/');

function pick(map: Record<string, string> | undefined, keep: (k: string) => boolean) {
  if (!map) return undefined;
  const out = Object.entries(map).filter(([k]) => keep(k));
  return out.length ? Object.fromEntries(out) : undefined;
}

export function reduceNode(o: Obj): NodeWire {
  const spec = asObj(o.spec);
  const status = asObj(o.status);
  const info = asObj(status.nodeInfo);
  const cap = asObj(status.capacity);
  const addresses = asArr(status.addresses).map((a) => ({
    type: str(a.type) ?? '',
    address: str(a.address) ?? '',
  }));
  return clean({
    ...meta(o),
    annotations: pick(strMap(asObj(o.metadata).annotations), EDGE_ANNOTATION),
    unschedulable: spec.unschedulable === true ? true : undefined,
    taints: taints(spec.taints),
    conditions: conditions(status.conditions),
    addresses: addresses.length ? addresses : undefined,
    kubeletVersion: str(info.kubeletVersion),
    arch: str(info.architecture),
    os: str(info.operatingSystem),
    osImage: str(info.osImage),
    containerRuntime: str(info.containerRuntimeVersion),
    capacity: Object.keys(cap).length
      ? clean({ cpu: str(cap.cpu), memory: str(cap.memory), pods: str(cap.pods) })
      : undefined,
    podCidr: str(spec.podCIDR),
  });
}

export function reduceNodePool(o: Obj): NodePoolWire {
  const spec = asObj(o.spec);
  const status = asObj(o.status);
  const ready = num(status.readyNodeNum);
  const notReady = num(status.unreadyNodeNum);
  const conds = conditions(status.conditions);
  return clean({
    ...meta(o),
    annotations: strMap(asObj(o.metadata).annotations),
    type: str(spec.type) ?? 'Edge',
    hostNetwork: spec.hostNetwork === true ? true : undefined,
    nodeLabels: strMap(spec.labels),
    nodeAnnotations: strMap(spec.annotations),
    nodeTaints: taints(spec.taints),
    reported:
      ready !== undefined || notReady !== undefined
        ? { ready: ready ?? 0, notReady: notReady ?? 0 }
        : undefined,
    conditions: conds.length ? conds : undefined,
  });
}

function selector(v: unknown): LabelSelectorWire | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const s = v as Obj;
  return clean({
    matchLabels: strMap(s.matchLabels),
    matchExpressions: Array.isArray(s.matchExpressions)
      ? (s.matchExpressions as LabelSelectorWire['matchExpressions'])
      : undefined,
  });
}

function firstContainer(podSpec: Obj): Obj {
  return asArr(podSpec.containers)[0] ?? {};
}

export function reduceYurtAppSet(o: Obj): YurtAppSetWire {
  const spec = asObj(o.spec);
  const workload = asObj(spec.workload);
  const tpl = asObj(workload.workloadTemplate);
  const isSts = !!tpl.statefulSetTemplate && !tpl.deploymentTemplate;
  const body = asObj(asObj(isSts ? tpl.statefulSetTemplate : tpl.deploymentTemplate).spec);
  const podSpec = asObj(asObj(body.template).spec);
  const status = asObj(o.status);
  const tweaks = asArr(workload.workloadTweaks).map((t) => {
    const tw = asObj(t.tweaks);
    return clean({
      pools: Array.isArray(t.pools) ? (t.pools as string[]) : undefined,
      nodepoolSelector: selector(t.nodepoolSelector),
      replicas: num(tw.replicas),
      images: Array.isArray(tw.containerImages)
        ? (tw.containerImages as { name: string; targetImage: string }[])
        : undefined,
    });
  });
  const conds = conditions(status.conditions);
  return clean({
    ...meta(o),
    generation: num(asObj(o.metadata).generation),
    pools: Array.isArray(spec.pools) ? (spec.pools as string[]) : undefined,
    nodepoolSelector: selector(spec.nodepoolSelector),
    workloadKind: isSts ? ('StatefulSet' as const) : ('Deployment' as const),
    replicas: num(body.replicas),
    image: str(firstContainer(podSpec).image),
    tweaks: tweaks.length ? tweaks : undefined,
    pauseRequested:
      rolloutPauseRequested(asObj(o.metadata).annotations as Record<string, string>) || undefined,
    status: Object.keys(status).length
      ? clean({
          observedGeneration: num(status.observedGeneration),
          readyWorkloads: num(status.readyWorkloads),
          updatedWorkloads: num(status.updatedWorkloads),
          totalWorkloads: num(status.totalWorkloads),
          conditions: conds.length ? conds : undefined,
        })
      : undefined,
  });
}

function podReason(status: Obj): string | undefined {
  for (const cs of asArr(status.containerStatuses)) {
    const st = asObj(cs.state);
    const why = str(asObj(st.waiting).reason) ?? str(asObj(st.terminated).reason);
    if (why) return why;
  }
  return str(status.reason);
}

export function reducePod(o: Obj): PodWire {
  const spec = asObj(o.spec);
  const status = asObj(o.status);
  const m = meta(o);
  const owner = asArr(asObj(o.metadata).ownerReferences).find((r) => r.controller === true);
  const statuses = asArr(status.containerStatuses);
  const ready = asArr(status.conditions).some((c) => c.type === 'Ready' && c.status === 'True');
  const restartsOf = new Map(statuses.map((s) => [str(s.name), num(s.restartCount) ?? 0]));
  const containers = asArr(spec.containers).flatMap((c) => {
    const name = str(c.name);
    return name ? [{ name, restarts: restartsOf.get(name) ?? 0 }] : [];
  });
  return clean({
    ...m,
    namespace: m.namespace ?? 'default',
    node: str(spec.nodeName),
    phase: str(status.phase),
    ready,
    restarts: statuses.reduce((n, s) => n + (num(s.restartCount) ?? 0), 0),
    owner: owner ? { kind: str(owner.kind) ?? '', name: str(owner.name) ?? '' } : undefined,
    image: str(firstContainer(spec).image),
    containers: containers.length ? containers : undefined,
    reason: ready ? undefined : podReason(status),
    podIp: str(status.podIP),
  });
}

export function reduceService(o: Obj): ServiceWire {
  const spec = asObj(o.spec);
  const m = meta(o);
  const ports = asArr(spec.ports).map((p) =>
    clean({
      name: str(p.name),
      port: num(p.port) ?? 0,
      protocol: str(p.protocol),
      nodePort: num(p.nodePort),
    }),
  );
  return clean({
    ...m,
    namespace: m.namespace ?? 'default',
    type: str(spec.type),
    clusterIp: str(spec.clusterIP),
    ports: ports.length ? ports : undefined,
    selector: strMap(spec.selector),
    topologyKeys: strMap(asObj(o.metadata).annotations)?.[ANNOTATION_TOPOLOGY_KEYS],
  });
}

export function reduceEndpointSlice(o: Obj): EndpointSliceWire {
  const m = meta(o);
  return clean({
    ...m,
    namespace: m.namespace ?? 'default',
    service: m.labels?.['kubernetes.io/service-name'],
    endpoints: asArr(o.endpoints).map((e) =>
      clean({
        address: str((e.addresses as unknown[] | undefined)?.[0]) ?? '',
        node: str(e.nodeName),
        zone: str(e.zone),
        ready: asObj(e.conditions).ready !== false,
        pod: asObj(e.targetRef).kind === 'Pod' ? str(asObj(e.targetRef).name) : undefined,
      }),
    ),
  });
}

/** Cuts text to `max` characters, saying so, so a cut message is never taken for the whole one. */
export function cut(text: string, max = EVENT_MESSAGE_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * A core/v1 Event. Old-style writers (kubelet, most controllers) set count/firstTimestamp/
 * lastTimestamp; events.k8s.io writers set series and eventTime, which core/v1 shows too.
 */
export function reduceEvent(o: Obj): EventWire {
  const m = meta(o);
  const inv = asObj(o.involvedObject);
  const series = asObj(o.series);
  const src = asObj(o.source);
  const type = str(o.type);
  const first = str(o.firstTimestamp) ?? str(o.eventTime) ?? m.createdAt;
  const last = str(series.lastObservedTime) ?? str(o.lastTimestamp) ?? first;
  const component = str(src.component) ?? str(o.reportingComponent);
  const host = str(src.host) ?? str(o.reportingInstance);
  return clean({
    name: m.name,
    namespace: m.namespace,
    uid: m.uid,
    rv: m.rv,
    type: type === 'Warning' ? ('Warning' as const) : ('Normal' as const),
    severity: type === 'Warning' ? ('warning' as const) : ('info' as const),
    reason: str(o.reason) ?? '',
    message: cut(str(o.message) ?? ''),
    count: Math.max(num(o.count) ?? 0, num(series.count) ?? 0, 1),
    firstAt: first,
    lastAt: last,
    source: component || host ? clean({ component, host }) : undefined,
    object: clean({ kind: str(inv.kind) ?? '', namespace: str(inv.namespace), name: str(inv.name) ?? '' }),
  });
}

export const REDUCERS: { [K in ResourceKind]: (o: Obj) => WireByKind[K] } = {
  nodes: reduceNode,
  nodepools: reduceNodePool,
  yurtappsets: reduceYurtAppSet,
  pods: reducePod,
  services: reduceService,
  endpointslices: reduceEndpointSlice,
  events: reduceEvent,
};
