/**
 * What the demo fleet consists of, as plain data: 3 sites × 4 pools, how many kwok nodes each
 * pool gets, which nodes are autonomous, and the NodePool/YurtAppSet objects. Pure, so the shape
 * of the demo is unit-tested without a cluster and every start builds the same fleet.
 */
import {
  ANNOTATION_AUTONOMY_DURATION,
  LABEL_IS_EDGE_WORKER,
  LABEL_NODEPOOL,
} from '../../src-agent/api/labels.ts';
import { LABEL_SITE, LABEL_ZONE } from '../ipc/edge-api.ts';
import { KWOK_POD_PLACEMENT, type KwokNodeSpec } from './kwok.ts';

export const DEMO_SITES = ['berlin', 'lyon', 'oslo'] as const;
/** Pool kinds per site with their relative sizes (a site has many sensors, few gateways). */
export const DEMO_POOL_KINDS = [
  { kind: 'sensors', weight: 4 },
  { kind: 'cameras', weight: 3 },
  { kind: 'kiosks', weight: 2 },
  { kind: 'gateways', weight: 1 },
] as const;
export const DEFAULT_DEMO_NODES = 300;
/** One node per pool at least; above this the machine's apiserver/kwok get slow to start. */
export const MIN_DEMO_NODES = DEMO_SITES.length * DEMO_POOL_KINDS.length;
export const MAX_DEMO_NODES = 2_000;

/** Every demo node carries it, so the simulator selects exactly the demo's nodes. */
export const DEMO_NODE_LABEL = 'edgefleet.dev/demo';
export const ZONE_LABEL = LABEL_ZONE;

/**
 * Autonomy per pool kind: gateways and cameras keep their pods when cut off (cameras forever,
 * gateways for an hour); kiosks and sensors do not, so the demo shows both outcomes of a cut.
 */
const AUTONOMY_BY_KIND: Record<string, string | undefined> = { cameras: '0', gateways: '1h' };

export interface DemoPool {
  name: string;
  site: string;
  kind: string;
  nodes: number;
  /** `node.openyurt.io/autonomy-duration` on its nodes, if any. */
  autonomy: string | undefined;
}

/**
 * Splits `total` over `weights` proportionally with the largest-remainder method, every share
 * at least 1 (callers guarantee total ≥ weights.length), so the sum is exactly `total`.
 */
export function distribute(total: number, weights: readonly number[]): number[] {
  if (!Number.isInteger(total) || total < weights.length)
    throw new RangeError(`cannot give ${weights.length} pools at least one node each from ${total}`);
  const rest = total - weights.length;
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (rest * w) / sum);
  const shares = exact.map(Math.floor);
  let left = rest - shares.reduce((a, b) => a + b, 0);
  // Largest fractional part first; ties go to the earlier (bigger) pool so the result is stable.
  const order = exact
    .map((x, i) => ({ i, frac: x - Math.floor(x) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    shares[i] = (shares[i] ?? 0) + 1;
    left--;
  }
  return shares.map((s) => s + 1);
}

/** The 12 pools with their node counts for a fleet of `total` nodes. */
export function demoPools(total: number = DEFAULT_DEMO_NODES): DemoPool[] {
  const weights = DEMO_SITES.flatMap(() => DEMO_POOL_KINDS.map((k) => k.weight));
  const counts = distribute(total, weights);
  return DEMO_SITES.flatMap((site, s) =>
    DEMO_POOL_KINDS.map(({ kind }, k) => ({
      name: `${site}-${kind}`,
      site,
      kind,
      nodes: counts[s * DEMO_POOL_KINDS.length + k] ?? 1,
      autonomy: AUTONOMY_BY_KIND[kind],
    })),
  );
}

export interface DemoNode extends KwokNodeSpec {
  pool: string;
  autonomous: boolean;
}

export function demoNodes(pools: readonly DemoPool[]): DemoNode[] {
  return pools.flatMap((p) =>
    Array.from({ length: p.nodes }, (_, i) => ({
      name: `${p.name}-${i}`,
      pool: p.name,
      autonomous: p.autonomy !== undefined,
      labels: {
        [LABEL_NODEPOOL]: p.name,
        [LABEL_IS_EDGE_WORKER]: 'true',
        [ZONE_LABEL]: p.site,
        [DEMO_NODE_LABEL]: 'true',
      },
      annotations: autonomyAnnotations(p.autonomy),
    })),
  );
}

function autonomyAnnotations(duration: string | undefined): Record<string, string> {
  return duration === undefined ? {} : { [ANNOTATION_AUTONOMY_DURATION]: duration };
}

export function nodePoolObjects(pools: readonly DemoPool[]) {
  return pools.map((p) => ({
    apiVersion: 'apps.openyurt.io/v1beta2',
    kind: 'NodePool',
    metadata: { name: p.name, labels: { [DEMO_NODE_LABEL]: 'true', [LABEL_SITE]: p.site } },
    spec: { type: 'Edge', labels: { [ZONE_LABEL]: p.site } },
  }));
}

/** A few apps rolled out per pool kind, so the Apps view has something to show. */
export function yurtAppSetObjects(pools: readonly DemoPool[]) {
  const of = (kind: string) => pools.filter((p) => p.kind === kind).map((p) => p.name);
  const app = (name: string, image: string, targetPools: string[], replicas: number, tweakPool?: string) => ({
    apiVersion: 'apps.openyurt.io/v1beta1',
    kind: 'YurtAppSet',
    metadata: { name, namespace: 'default' },
    spec: {
      pools: targetPools,
      workload: {
        workloadTemplate: {
          deploymentTemplate: {
            metadata: { labels: { app: name } },
            spec: {
              replicas,
              selector: { matchLabels: { app: name } },
              template: {
                metadata: { labels: { app: name } },
                spec: { ...KWOK_POD_PLACEMENT, containers: [{ name, image }] },
              },
            },
          },
        },
        ...(tweakPool
          ? { workloadTweaks: [{ pools: [tweakPool], tweaks: { replicas: replicas + 1 } }] }
          : {}),
      },
    },
  });
  return [
    app('camera-recorder', 'demo/camera-recorder:1.4', of('cameras'), 1, of('cameras')[0]),
    app('gateway-proxy', 'demo/gateway-proxy:2.0', of('gateways'), 1),
    app('kiosk-ui', 'demo/kiosk-ui:0.9', of('kiosks'), 1),
  ];
}
