/**
 * Node autonomy: `node.openyurt.io/autonomy-duration` on one node, some nodes or every node of a
 * pool. The controller turns it into pods' not-ready/unreachable tolerations
 * (src-agent/controller/autonomy); we say what that will be, and whether the node's hub reports
 * that autonomy can work there (the Autonomy condition).
 */
import { autonomySeconds, parseGoDuration } from '../../src-agent/api/autonomy.ts';
import { ANNOTATION_AUTONOMY_DURATION, CONDITION_AUTONOMY } from '../../src-agent/api/labels.ts';
import { AppError } from '../ipc/errors.ts';
import type { AutonomyEffect, AutonomyNodeResult, AutonomyResult } from '../ipc/fleet-types.ts';
import type { WireObject } from '../ipc/types.ts';
import { forEachNode, metadataPatch } from './bulk.ts';
import { CORE, type FleetKube } from './kube.ts';
import { poolMembers } from './nodepools.ts';

export type AutonomyTarget = { nodes: string[] } | { pool: string };

export function autonomyEffect(duration: string | null): AutonomyEffect {
  if (duration === null)
    return {
      tolerationSeconds: 'restored',
      summary:
        'Autonomy off: pods get back their original not-ready/unreachable tolerations (usually 300 s), so they are evicted about 5 minutes after the node loses the cloud.',
    };
  const secs = parseGoDuration(duration);
  if (secs === undefined)
    throw new AppError(
      'fleet/invalid',
      `Not a Go duration: ${JSON.stringify(duration)}`,
      'Use e.g. "0", "90s", "30m", "2h".',
    );
  if (secs === 0)
    return {
      tolerationSeconds: null,
      summary: 'Pods tolerate a lost link forever: they are never evicted while the node is cut off.',
    };
  return {
    tolerationSeconds: secs,
    summary: `Pods' not-ready/unreachable tolerations become ${secs} s: they stay on the node that long after it loses the cloud.`,
  };
}

type NodeObj = WireObject & {
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
};

function autonomyCondition(n: NodeObj): AutonomyNodeResult['autonomyCondition'] {
  const c = n.status?.conditions?.find((x) => x.type === CONDITION_AUTONOMY);
  if (!c) return undefined;
  const out: NonNullable<AutonomyNodeResult['autonomyCondition']> = { status: c.status };
  if (c.reason) out.reason = c.reason;
  if (c.message) out.message = c.message;
  return out;
}

export async function setAutonomy(
  kube: FleetKube,
  target: AutonomyTarget,
  duration: string | null,
): Promise<AutonomyResult> {
  const effect = autonomyEffect(duration);
  const nodes = 'pool' in target ? await poolMembers(kube, target.pool) : target.nodes;
  if ('pool' in target && nodes.length === 0)
    throw new AppError(
      'fleet/pool-empty',
      `Node pool ${target.pool} has no member nodes.`,
      'Assign nodes to it first.',
    );
  const bulk = await forEachNode(nodes, async (node): Promise<AutonomyNodeResult> => {
    const ref = CORE('nodes', node);
    const cur = await kube.get<NodeObj>(ref);
    const previous = cur.metadata.annotations?.[ANNOTATION_AUTONOMY_DURATION] ?? null;
    const result: AutonomyNodeResult = { node, ok: true, previous };
    const after =
      previous === duration
        ? cur
        : await kube.mergePatch<NodeObj>(
            ref,
            metadataPatch('annotations', ANNOTATION_AUTONOMY_DURATION, duration),
          );
    if (previous === duration) result.unchanged = true;
    const cond = autonomyCondition(after);
    if (cond) result.autonomyCondition = cond;
    // Clearing the duration does not end autonomy a legacy annotation still asks for: say so.
    if (duration === null && autonomySeconds(after) !== undefined)
      result.error = {
        code: 'fleet/autonomy-still-on',
        message: `Node ${node} stays autonomous: it still has apps.openyurt.io/binding or node.beta.openyurt.io/autonomy set to "true".`,
        fix: 'Remove that annotation too to end autonomy on this node.',
      };
    return result;
  });
  return { duration, effect, ...bulk };
}
