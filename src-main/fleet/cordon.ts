/** Cordon and uncordon: spec.unschedulable on each node, with the previous value for an undo. */
import type { BulkNodeResult } from '../ipc/fleet-types.ts';
import type { WireObject } from '../ipc/types.ts';
import { forEachNode } from './bulk.ts';
import { CORE, type FleetKube } from './kube.ts';

export async function setUnschedulable(kube: FleetKube, node: string, on: boolean): Promise<boolean> {
  const ref = CORE('nodes', node);
  const cur = await kube.get<WireObject & { spec?: { unschedulable?: boolean } }>(ref);
  const was = cur.spec?.unschedulable === true;
  // null removes the field (its default is false), as kubectl uncordon does.
  if (was !== on) await kube.mergePatch(ref, { spec: { unschedulable: on ? true : null } });
  return was;
}

export function cordonNodes(kube: FleetKube, nodes: readonly string[], on: boolean): Promise<BulkNodeResult> {
  return forEachNode(nodes, async (node) => {
    const was = await setUnschedulable(kube, node, on);
    return { node, ok: true, previous: String(was), ...(was === on ? { unchanged: true } : {}) };
  });
}
