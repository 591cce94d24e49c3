/**
 * NodePools: create, edit, delete, and node membership (the `apps.openyurt.io/nodepool` label).
 * The controller (ours or yurt-manager) then applies the pool's labels, annotations and taints to
 * its members; we only write the pool and the label, as `edgefleet-app`.
 */
import { LABEL_NODEPOOL, OPENYURT_GROUP } from '../../src-agent/api/labels.ts';
import { AppError } from '../ipc/errors.ts';
import type { BulkNodeResult, NodePoolType, PoolTaint } from '../ipc/fleet-types.ts';
import type { WireObject } from '../ipc/types.ts';
import { forEachNode, metadataPatch } from './bulk.ts';
import { openYurtRef, type Served } from './discovery.ts';
import { CORE, type FleetKube, retryOnConflict } from './kube.ts';

export interface NodePoolFields {
  type?: NodePoolType;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  taints?: PoolTaint[];
  hostNetwork?: boolean;
}

type Pool = WireObject & { spec?: NodePoolFields };

function specOf(f: NodePoolFields): NodePoolFields {
  const spec: NodePoolFields = {};
  if (f.type) spec.type = f.type;
  if (f.hostNetwork !== undefined) spec.hostNetwork = f.hostNetwork;
  if (f.labels) spec.labels = f.labels;
  if (f.annotations) spec.annotations = f.annotations;
  if (f.taints) spec.taints = f.taints;
  return spec;
}

async function exists(kube: FleetKube, served: Served, name: string): Promise<boolean> {
  const res = await kube.call('GET', openYurtRef(served, 'nodepools', { name }));
  return res.status === 200;
}

export async function createNodePool(
  kube: FleetKube,
  served: Served,
  name: string,
  fields: NodePoolFields & { type: NodePoolType },
): Promise<WireObject> {
  const ref = openYurtRef(served, 'nodepools', { name });
  // Server-side apply would silently merge into an existing pool; "create" must not.
  if (await exists(kube, served, name))
    throw new AppError(
      'fleet/exists',
      `Node pool ${name} already exists.`,
      'Choose another name or edit that pool.',
    );
  return kube.apply<WireObject>(ref, {
    apiVersion: `${OPENYURT_GROUP}/${ref.version}`,
    kind: 'NodePool',
    metadata: { name },
    spec: specOf(fields),
  });
}

/** Map fields replaced as a whole: keys no longer wanted are sent as null (merge patch removal). */
function replaceMap(
  old: Record<string, string> | undefined,
  want: Record<string, string>,
): Record<string, string | null> {
  const out: Record<string, string | null> = { ...want };
  for (const k of Object.keys(old ?? {})) if (!(k in want)) out[k] = null;
  return out;
}

/** Sets the given fields to exactly these values; fields not given stay as they are. */
export function editNodePool(
  kube: FleetKube,
  served: Served,
  name: string,
  fields: NodePoolFields,
): Promise<WireObject> {
  const ref = openYurtRef(served, 'nodepools', { name });
  return retryOnConflict(async () => {
    const cur = await kube.get<Pool>(ref);
    const spec: Record<string, unknown> = {};
    if (fields.type) spec.type = fields.type;
    if (fields.hostNetwork !== undefined) spec.hostNetwork = fields.hostNetwork;
    if (fields.labels) spec.labels = replaceMap(cur.spec?.labels, fields.labels);
    if (fields.annotations) spec.annotations = replaceMap(cur.spec?.annotations, fields.annotations);
    if (fields.taints) spec.taints = fields.taints;
    // The resourceVersion makes a concurrent edit fail with 409, and retryOnConflict re-reads.
    return kube.mergePatch<WireObject>(ref, {
      metadata: { resourceVersion: cur.metadata.resourceVersion },
      spec,
    });
  });
}

export async function poolMembers(kube: FleetKube, pool: string): Promise<string[]> {
  const nodes = await kube.list<WireObject>(CORE('nodes'), { labelSelector: `${LABEL_NODEPOOL}=${pool}` });
  return nodes.map((n) => n.metadata.name).sort();
}

/**
 * Refused while nodes carry the pool's label: deleting would leave them pointing at nothing (our
 * controller would hold the pool in Terminating with a finalizer; yurt-manager has no such guard).
 * A dry run goes first so a webhook's or RBAC's refusal is shown before anything changes.
 */
export async function deleteNodePool(kube: FleetKube, served: Served, name: string): Promise<void> {
  const ref = openYurtRef(served, 'nodepools', { name });
  await kube.get(ref);
  const members = await poolMembers(kube, name);
  if (members.length) {
    const shown =
      members.slice(0, 5).join(', ') + (members.length > 5 ? `, … (${members.length - 5} more)` : '');
    throw new AppError(
      'fleet/pool-has-members',
      `Node pool ${name} still has ${members.length} member node${members.length > 1 ? 's' : ''}: ${shown}.`,
      'Move its nodes to another pool (or out of every pool) first, then delete it.',
    );
  }
  await kube.delete(ref, { dryRun: true });
  await kube.delete(ref);
}

/**
 * Puts nodes into `pool` (moving them from wherever they were), or takes them out of every pool
 * when `pool` is null. `previous` of each result is the pool it left, for an undo.
 */
export async function assignNodes(
  kube: FleetKube,
  served: Served,
  nodes: readonly string[],
  pool: string | null,
): Promise<BulkNodeResult> {
  if (pool !== null && !(await exists(kube, served, pool)))
    throw new AppError('fleet/not-found', `Node pool ${pool} does not exist.`, 'Create the pool first.');
  return forEachNode(nodes, async (node) => {
    const ref = CORE('nodes', node);
    const cur = await kube.get<WireObject>(ref);
    const previous = cur.metadata.labels?.[LABEL_NODEPOOL] ?? null;
    if (previous === pool) return { node, ok: true, unchanged: true, previous };
    // One label key in a merge patch: atomic on the server, no read-modify-write race to retry.
    await kube.mergePatch(ref, metadataPatch('labels', LABEL_NODEPOOL, pool));
    return { node, ok: true, previous };
  });
}
