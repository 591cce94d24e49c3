import { describe, expect, test } from 'vitest';
import {
  ANNOTATION_NODEPOOL_APPLIED,
  FINALIZER_NODEPOOL_MEMBERS,
  type NodePool,
} from '../../api/nodepool.ts';
import type { Node } from '../kube-types.ts';
import { planNode, planPoolMeta, poolStatus } from './plan.ts';

const node = (
  labels: Record<string, string>,
  annotations: Record<string, string> = {},
  taints: Node['spec'] = {},
): Node => ({
  metadata: { name: 'n1', resourceVersion: '7', labels, annotations },
  spec: taints,
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
});
const pool = (spec: NodePool['spec'], name = 'alpha'): NodePool => ({
  metadata: { name, resourceVersion: '3' },
  spec,
});

/** Applies a merge patch the way the API server does, for metadata maps and spec.taints. */
function applyPatch(n: Node, patch: Record<string, unknown>): Node {
  const out = structuredClone(n);
  const md = patch.metadata as {
    labels?: Record<string, string | null>;
    annotations?: Record<string, string | null>;
  };
  for (const field of ['labels', 'annotations'] as const) {
    out.metadata[field] ??= {};
    const target = out.metadata[field];
    for (const [k, v] of Object.entries(md[field] ?? {})) {
      if (v === null) delete target[k];
      else target[k] = v;
    }
  }
  const spec = patch.spec as
    | { taints?: Node['spec'] extends infer S ? (S extends { taints?: infer T } ? T | null : never) : never }
    | undefined;
  if (spec && 'taints' in spec) out.spec = { ...out.spec, taints: spec.taints ?? [] };
  return out;
}

describe('planNode', () => {
  test('joining applies labels, annotations and taints and records them', () => {
    const n = node({ 'apps.openyurt.io/nodepool': 'alpha', owner: 'ops' });
    const plan = planNode(
      n,
      pool({
        labels: { site: 'a' },
        annotations: { c: 'x' },
        taints: [{ key: 't', value: 'v', effect: 'NoSchedule' }],
      }),
    );
    expect(plan).toBeDefined();
    const after = applyPatch(n, plan?.patch ?? {});
    expect(after.metadata.labels).toEqual({ 'apps.openyurt.io/nodepool': 'alpha', owner: 'ops', site: 'a' });
    expect(after.metadata.annotations?.c).toBe('x');
    expect(after.spec?.taints).toEqual([{ key: 't', value: 'v', effect: 'NoSchedule' }]);
    expect(JSON.parse(after.metadata.annotations?.[ANNOTATION_NODEPOOL_APPLIED] ?? '{}').pool).toBe('alpha');
    expect((plan?.patch.metadata as { resourceVersion?: string } | undefined)?.resourceVersion).toBe('7');
    // Converged: nothing more to do.
    expect(
      planNode(
        after,
        pool({
          labels: { site: 'a' },
          annotations: { c: 'x' },
          taints: [{ key: 't', value: 'v', effect: 'NoSchedule' }],
        }),
      ),
    ).toBeUndefined();
  });

  test('leaving removes only our values and restores foreign ones we replaced', () => {
    const n = node(
      { 'apps.openyurt.io/nodepool': 'alpha', site: 'original', owner: 'ops' },
      { keep: 'me' },
      {
        taints: [{ key: 'ops', value: 'x', effect: 'NoSchedule' }],
      },
    );
    const p = pool({
      labels: { site: 'a', tier: 'edge' },
      taints: [{ key: 'ops', value: 'pool', effect: 'NoSchedule' }],
    });
    const joined = applyPatch(n, planNode(n, p)?.patch ?? {});
    expect(joined.metadata.labels?.site).toBe('a');
    expect(joined.spec?.taints).toEqual([{ key: 'ops', value: 'pool', effect: 'NoSchedule' }]);
    // Someone adds a foreign label after joining; it must survive leaving.
    joined.metadata.labels = { ...joined.metadata.labels, added: 'later' };
    delete joined.metadata.labels['apps.openyurt.io/nodepool'];
    const left = applyPatch(joined, planNode(joined, undefined)?.patch ?? {});
    expect(left.metadata.labels).toEqual({ site: 'original', owner: 'ops', added: 'later' });
    expect(left.metadata.annotations).toEqual({ keep: 'me' });
    expect(left.spec?.taints).toEqual([{ key: 'ops', value: 'x', effect: 'NoSchedule' }]);
    expect(planNode(left, undefined)).toBeUndefined();
  });

  test('a value someone changed after us is theirs and is not removed', () => {
    const n = node({ 'apps.openyurt.io/nodepool': 'alpha' });
    const joined = applyPatch(n, planNode(n, pool({ labels: { site: 'a' } }))?.patch ?? {});
    (joined.metadata.labels as Record<string, string>).site = 'changed-by-user';
    const after = applyPatch(joined, planNode(joined, pool({}))?.patch ?? {});
    expect(after.metadata.labels?.site).toBe('changed-by-user');
  });

  test('moving pools swaps settings and the pool label itself is never touched', () => {
    const n = node({ 'apps.openyurt.io/nodepool': 'alpha' });
    const a = pool({
      labels: { site: 'a', 'apps.openyurt.io/nodepool': 'evil' },
      taints: [{ key: 'a', effect: 'NoExecute' }],
    });
    const inA = applyPatch(n, planNode(n, a)?.patch ?? {});
    expect(inA.metadata.labels?.['apps.openyurt.io/nodepool']).toBe('alpha');
    (inA.metadata.labels as Record<string, string>)['apps.openyurt.io/nodepool'] = 'beta';
    const inB = applyPatch(inA, planNode(inA, pool({ labels: { site: 'b' } }, 'beta'))?.patch ?? {});
    expect(inB.metadata.labels).toEqual({ 'apps.openyurt.io/nodepool': 'beta', site: 'b' });
    expect(inB.spec?.taints ?? []).toEqual([]);
  });
});

describe('pool metadata and status', () => {
  test('adds finalizer and lowercase type label', () => {
    const plan = planPoolMeta(pool({ type: 'Cloud' }), []);
    expect(plan.patch).toEqual({
      metadata: {
        resourceVersion: '3',
        labels: { 'nodepool.openyurt.io/type': 'cloud' },
        finalizers: [FINALIZER_NODEPOOL_MEMBERS],
      },
    });
  });

  test('deletion with members is blocked with a message naming them; without members the finalizer goes', () => {
    const p: NodePool = {
      metadata: {
        name: 'alpha',
        deletionTimestamp: 'now',
        finalizers: [FINALIZER_NODEPOOL_MEMBERS, 'other'],
      },
    };
    const blocked = planPoolMeta(p, [node({})]);
    expect(blocked.patch).toBeUndefined();
    expect(blocked.blocked).toMatch(/1 member node\(s\): n1/);
    expect(planPoolMeta(p, []).patch).toEqual({
      metadata: { resourceVersion: undefined, finalizers: ['other'] },
    });
  });

  test('status counts ready and unready members', () => {
    const notReady: Node = {
      metadata: { name: 'a' },
      status: { conditions: [{ type: 'Ready', status: 'Unknown' }] },
    };
    expect(poolStatus([node({}), notReady], undefined)).toEqual({
      readyNodeNum: 1,
      unreadyNodeNum: 1,
      nodes: ['a', 'n1'],
    });
  });
});
