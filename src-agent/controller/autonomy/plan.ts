/**
 * Autonomy as tolerations: pods on a node that may be cut off keep running there for the node's
 * autonomy duration instead of the default 300 s. Pure functions of the node and the pod.
 *
 * The API only allows changing an existing toleration's tolerationSeconds (or adding one), never
 * removing one, so "restore" sets the saved value back; a toleration we had to add is restored as
 * tolerationSeconds 0, which evicts exactly like having none.
 */
import { autonomySeconds } from '../../api/autonomy.ts';
import type { Node, Pod, Toleration } from '../kube-types.ts';

// Shared with the app (what setting autonomy will do); kept importable from here for the controller.
export { autonomySeconds, parseGoDuration } from '../../api/autonomy.ts';

/** Pod annotation: the not-ready/unreachable tolerations as they were before autonomy changed them. */
export const ANNOTATION_ORIGINAL_TOLERATIONS = 'autonomy.edgefleet.io/original-tolerations';
export const AUTONOMY_TAINT_KEYS = [
  'node.kubernetes.io/not-ready',
  'node.kubernetes.io/unreachable',
] as const;

interface SavedToleration {
  key: string;
  present: boolean;
  tolerationSeconds: number | null;
}

const isTarget = (t: Toleration, key: string) =>
  t.key === key &&
  (t.effect === 'NoExecute' || t.effect === undefined || t.effect === '') &&
  (t.operator ?? 'Equal') === 'Exists';

export interface PodPlan {
  patch: Record<string, unknown>;
  summary: string;
}

export function planPod(pod: Pod, node: Node | undefined): PodPlan | undefined {
  if (!pod.spec?.nodeName || pod.metadata.deletionTimestamp) return undefined;
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return undefined;
  if (pod.metadata.annotations?.['kubernetes.io/config.mirror']) return undefined;
  const want = autonomySeconds(node);
  const savedRaw = pod.metadata.annotations?.[ANNOTATION_ORIGINAL_TOLERATIONS];
  let saved: SavedToleration[] | undefined;
  try {
    saved = savedRaw ? (JSON.parse(savedRaw) as SavedToleration[]) : undefined;
  } catch {
    saved = undefined;
  }
  const tolerations = (pod.spec.tolerations ?? []).map((t) => ({ ...t }));
  let annotation: string | null | undefined; // undefined = leave as is

  if (want !== undefined) {
    if (!saved) {
      saved = AUTONOMY_TAINT_KEYS.map((key) => {
        const t = tolerations.find((x) => isTarget(x, key));
        return { key, present: !!t, tolerationSeconds: t ? (t.tolerationSeconds ?? null) : null };
      });
      annotation = JSON.stringify(saved);
    }
    for (const key of AUTONOMY_TAINT_KEYS) {
      const orig = saved.find((s) => s.key === key);
      // A pod that already tolerated forever (DaemonSets) keeps that: autonomy never shortens it.
      if (orig?.present && orig.tolerationSeconds === null) continue;
      const t = tolerations.find((x) => isTarget(x, key));
      if (!t)
        tolerations.push(
          want === null
            ? { key, operator: 'Exists', effect: 'NoExecute' }
            : { key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: want },
        );
      else if (want === null) delete t.tolerationSeconds;
      else t.tolerationSeconds = want;
    }
  } else if (saved) {
    for (const s of saved) {
      const t = tolerations.find((x) => isTarget(x, s.key));
      if (!t) continue;
      const back = s.present ? s.tolerationSeconds : 0;
      if (back === null) delete t.tolerationSeconds;
      else t.tolerationSeconds = back;
    }
    annotation = null;
  } else {
    return undefined;
  }
  const changed = JSON.stringify(tolerations) !== JSON.stringify(pod.spec.tolerations ?? []);
  if (!changed && annotation === undefined) return undefined;
  const metadata: Record<string, unknown> = { resourceVersion: pod.metadata.resourceVersion };
  if (annotation !== undefined) metadata.annotations = { [ANNOTATION_ORIGINAL_TOLERATIONS]: annotation };
  const patch: Record<string, unknown> = { metadata };
  if (changed) patch.spec = { tolerations };
  const summary =
    want === undefined
      ? 'restored original not-ready/unreachable tolerations'
      : `not-ready/unreachable tolerated ${want === null ? 'forever' : `${want}s`} (node autonomy)`;
  return { patch, summary };
}
