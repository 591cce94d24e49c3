/**
 * Pool-by-pool rollout as a pure decision over desired revisions and observed workloads.
 *
 * Rules: missing workloads are created at once (nothing to keep available). An outdated pool
 * that is already unavailable is always updated (that cannot make things worse and lets a fix
 * reach a failing pool). Other outdated pools start, in name order, only while fewer than
 * maxUnavailable pools are unavailable, and none start while a pool is failing. Held (the pause
 * annotation): nothing is created or updated; every pool that would be waits.
 */
import { ANNOTATION_WORKLOAD_REVISION } from '../../api/yurtappset.ts';
import type { Workload } from '../kube-types.ts';
import type { WorkloadKind } from './render.ts';

export interface WorkloadState {
  revision: string | undefined;
  rolledOut: boolean;
  ready: boolean;
  /** Why the workload is stuck, when it is. */
  failing?: string;
}

export function observeWorkload(kind: WorkloadKind, w: Workload): WorkloadState {
  const want = w.spec?.replicas ?? 1;
  const s = w.status ?? {};
  const observed = (s.observedGeneration ?? 0) >= (w.metadata.generation ?? 0);
  const ready = observed && (s.readyReplicas ?? 0) >= want && (s.replicas ?? 0) === want;
  const rolledOut =
    kind === 'Deployment'
      ? observed &&
        (s.updatedReplicas ?? 0) === want &&
        (s.availableReplicas ?? 0) === want &&
        (s.replicas ?? 0) === want
      : observed &&
        (s.updatedReplicas ?? 0) === want &&
        (s.readyReplicas ?? 0) === want &&
        (!s.updateRevision || s.currentRevision === s.updateRevision);
  const stuck = s.conditions?.find((c) => c.type === 'Progressing' && c.status === 'False');
  const state: WorkloadState = {
    revision: w.metadata.annotations?.[ANNOTATION_WORKLOAD_REVISION],
    rolledOut,
    ready,
  };
  if (stuck && !rolledOut)
    state.failing = `${stuck.reason ?? 'NotProgressing'}: ${stuck.message ?? ''}`.trim();
  return state;
}

export interface RolloutInput {
  /** Selected pools in rollout order, with the revision each should run. */
  desired: { pool: string; revision: string }[];
  actual: Map<string, WorkloadState>;
  maxUnavailable: number;
  /** Someone paused the rollout: change no workload. */
  held?: boolean;
}

export interface RolloutPlan {
  create: string[];
  update: string[];
  /** Outdated pools held back by the budget or a failure. */
  waiting: string[];
  paused?: { pool: string; reason: string };
  /** Held by the pause annotation; `waiting` lists every pool that would otherwise change. */
  held?: true;
}

export function planRollout({ desired, actual, maxUnavailable, held }: RolloutInput): RolloutPlan {
  const plan: RolloutPlan = { create: [], update: [], waiting: [] };
  if (held) {
    plan.held = true;
    for (const { pool, revision } of desired)
      if (actual.get(pool)?.revision !== revision) plan.waiting.push(pool);
    return plan;
  }
  const unavailable = new Set<string>();
  let failing: { pool: string; reason: string } | undefined;
  for (const { pool } of desired) {
    const a = actual.get(pool);
    if (!a) continue;
    if (!a.rolledOut) unavailable.add(pool);
    if (a.failing && !failing) failing = { pool, reason: a.failing };
  }
  const outdated: string[] = [];
  for (const { pool, revision } of desired) {
    const a = actual.get(pool);
    if (!a) plan.create.push(pool);
    else if (a.revision !== revision) {
      if (unavailable.has(pool)) plan.update.push(pool);
      else outdated.push(pool);
    }
  }
  // A failing pool we are now updating is getting its fix; it does not pause the others' wait.
  if (failing && !plan.update.includes(failing.pool)) plan.paused = failing;
  let budget = Math.max(0, maxUnavailable - unavailable.size - plan.create.length);
  for (const pool of outdated) {
    if (!plan.paused && budget > 0) {
      plan.update.push(pool);
      budget--;
    } else plan.waiting.push(pool);
  }
  return plan;
}
