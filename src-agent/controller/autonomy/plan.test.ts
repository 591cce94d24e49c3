import { describe, expect, test } from 'vitest';
import type { Node, Pod } from '../kube-types.ts';
import { ANNOTATION_ORIGINAL_TOLERATIONS, autonomySeconds, parseGoDuration, planPod } from './plan.ts';

const node = (annotations: Record<string, string>): Node => ({ metadata: { name: 'n', annotations } });
const defaults = [
  {
    key: 'node.kubernetes.io/not-ready',
    operator: 'Exists' as const,
    effect: 'NoExecute',
    tolerationSeconds: 300,
  },
  {
    key: 'node.kubernetes.io/unreachable',
    operator: 'Exists' as const,
    effect: 'NoExecute',
    tolerationSeconds: 300,
  },
];
const pod = (tolerations = defaults, annotations: Record<string, string> = {}): Pod => ({
  metadata: { name: 'p', namespace: 'default', resourceVersion: '5', annotations },
  spec: { nodeName: 'n', tolerations: structuredClone(tolerations) },
  status: { phase: 'Running' },
});
function apply(p: Pod, patch: Record<string, unknown>): Pod {
  const out = structuredClone(p);
  const ann = (patch.metadata as { annotations?: Record<string, string | null> }).annotations ?? {};
  for (const [k, v] of Object.entries(ann)) {
    out.metadata.annotations ??= {};
    if (v === null) delete out.metadata.annotations[k];
    else out.metadata.annotations[k] = v;
  }
  const spec = patch.spec as Pod['spec'] | undefined;
  if (spec?.tolerations) (out.spec as NonNullable<Pod['spec']>).tolerations = spec.tolerations;
  return out;
}

describe('autonomy tolerations', () => {
  test('Go durations', () => {
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('1h30m')).toBe(5400);
    expect(parseGoDuration('1.5s')).toBe(2);
    expect(parseGoDuration('10')).toBeUndefined();
    expect(parseGoDuration('5 minutes')).toBeUndefined();
  });

  test('which annotations mean autonomy', () => {
    expect(autonomySeconds(node({ 'node.openyurt.io/autonomy-duration': '0' }))).toBeNull();
    expect(autonomySeconds(node({ 'node.openyurt.io/autonomy-duration': '10m' }))).toBe(600);
    expect(autonomySeconds(node({ 'apps.openyurt.io/binding': 'true' }))).toBeNull();
    expect(autonomySeconds(node({ 'node.beta.openyurt.io/autonomy': 'true' }))).toBeNull();
    expect(autonomySeconds(node({ 'node.beta.openyurt.io/autonomy': 'false' }))).toBeUndefined();
  });

  test('duration 0 tolerates forever, then restores the saved 300 s', () => {
    const p0 = pod();
    const auto = apply(p0, planPod(p0, node({ 'node.openyurt.io/autonomy-duration': '0' }))?.patch ?? {});
    expect(auto.spec?.tolerations?.map((t) => t.tolerationSeconds)).toEqual([undefined, undefined]);
    expect(auto.metadata.annotations?.[ANNOTATION_ORIGINAL_TOLERATIONS]).toBeDefined();
    expect(planPod(auto, node({ 'node.openyurt.io/autonomy-duration': '0' }))).toBeUndefined();
    const back = apply(auto, planPod(auto, node({}))?.patch ?? {});
    expect(back.spec?.tolerations).toEqual(defaults);
    expect(back.metadata.annotations?.[ANNOTATION_ORIGINAL_TOLERATIONS]).toBeUndefined();
    expect(planPod(back, node({}))).toBeUndefined();
  });

  test('missing tolerations are added and restored as 0 s (the API forbids removing them)', () => {
    const p0 = pod([]);
    const auto = apply(p0, planPod(p0, node({ 'node.openyurt.io/autonomy-duration': '1h' }))?.patch ?? {});
    expect(auto.spec?.tolerations?.map((t) => [t.key, t.tolerationSeconds])).toEqual([
      ['node.kubernetes.io/not-ready', 3600],
      ['node.kubernetes.io/unreachable', 3600],
    ]);
    const back = apply(auto, planPod(auto, node({}))?.patch ?? {});
    expect(back.spec?.tolerations?.map((t) => t.tolerationSeconds)).toEqual([0, 0]);
  });

  test('a pod that tolerates forever already (DaemonSet) is never shortened', () => {
    const forever = defaults.map(({ tolerationSeconds: _, ...t }) => t);
    const p0 = pod(forever as typeof defaults);
    const plan = planPod(p0, node({ 'node.openyurt.io/autonomy-duration': '10m' }));
    const after = apply(p0, plan?.patch ?? {});
    expect(after.spec?.tolerations).toEqual(forever);
  });
});
