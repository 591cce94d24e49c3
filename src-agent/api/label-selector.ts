/** Kubernetes label-selector matching, shared by the controller and (through src-main/ipc) the renderer. Pure. */
import type { LabelSelector } from './yurtappset.ts';

/** Kubernetes semantics: an empty selector matches everything, a missing one nothing. */
export function matchesSelector(
  labels: Readonly<Record<string, string>> | undefined,
  sel: LabelSelector | undefined,
): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const inValues = has && (e.values ?? []).includes(l[e.key] as string);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}
