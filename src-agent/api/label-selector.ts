/**
 * Label-selector matching as the API server does it. Pure and free of Node built-ins: the
 * controller (pool selection) and the app, renderer included (pods of a workload), share it.
 */
import type { LabelSelector } from './yurtappset.ts';

/** Kubernetes label-selector semantics; an empty selector matches everything, a missing one nothing. */
export function matchesSelector(
  labels: Record<string, string> | undefined,
  sel: LabelSelector | undefined,
): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const v = l[e.key];
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(v as string))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(v as string)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}
