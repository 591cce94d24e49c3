import { createHash } from 'node:crypto';
/**
 * YurtAppSet controller: keeps one Deployment/StatefulSet per selected pool, rolls template
 * changes out pool by pool (see rollout.ts), removes workloads of deselected pools and reports
 * OpenYurt's status fields and conditions.
 */
import { isNotFound, type KubeClient, objectKey, RESOURCES, splitKey } from '../../api/kube-client.ts';
import { LABEL_POOL_NAME, LABEL_REF_YURTAPPSET } from '../../api/labels.ts';
import type { Condition, NodePool } from '../../api/nodepool.ts';
import {
  readRolloutCondition,
  rolloutCondition,
  rolloutPauseRequested,
} from '../../api/rollout-condition.ts';
import {
  ANNOTATION_MAX_UNAVAILABLE_POOLS,
  YAS_CONDITION_APP_DISPATCHED,
  YAS_CONDITION_APP_READY,
  YAS_CONDITION_APP_UPDATED,
  YAS_CONDITION_POOL_FOUND,
  YAS_CONDITION_ROLLOUT,
  YURTAPPSET_RESOURCE,
  type YurtAppSet,
  type YurtAppSetStatus,
} from '../../api/yurtappset.ts';
import { yurtAppSetPools } from '../../api/yurtappset-pools.ts';
import type { EventRecorder } from '../events.ts';
import type { Informer } from '../informer.ts';
import type { Workload } from '../kube-types.ts';
import { CONTROLLER_METRICS, type Metrics } from '../metrics.ts';
import { setCondition } from '../nodepool/plan.ts';
import { ControllerRunner, type Log } from '../runner.ts';
import { type RenderedWorkload, renderWorkload, TweakError, workloadKind } from './render.ts';
import { observeWorkload, planRollout, type WorkloadState } from './rollout.ts';

/** While a rollout is in flight, look again this often even without events. */
const ROLLOUT_RECHECK_MS = 5_000;

export function maxUnavailablePools(yas: YurtAppSet): number {
  const raw = yas.metadata.annotations?.[ANNOTATION_MAX_UNAVAILABLE_POOLS];
  const n = raw === undefined ? 1 : Number(raw);
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

export class YurtAppSetController {
  private readonly client: KubeClient;
  private readonly apps: Informer<YurtAppSet>;
  private readonly pools: Informer<NodePool>;
  private readonly deployments: Informer<Workload>;
  private readonly statefulsets: Informer<Workload>;
  private readonly events: EventRecorder;
  private readonly log: Log;
  /** Revisions we wrote and the cache has not shown yet: such a pool counts as still rolling. */
  private readonly expected = new Map<string, string>();

  constructor(
    client: KubeClient,
    apps: Informer<YurtAppSet>,
    pools: Informer<NodePool>,
    deployments: Informer<Workload>,
    statefulsets: Informer<Workload>,
    events: EventRecorder,
    log: Log,
  ) {
    this.client = client;
    this.apps = apps;
    this.pools = pools;
    this.deployments = deployments;
    this.statefulsets = statefulsets;
    this.events = events;
    this.log = log;
  }

  runner(metrics: Metrics): ControllerRunner {
    const r = new ControllerRunner('yurtappset', (k) => this.reconcile(k), metrics, this.log);
    // Read from the condition this controller wrote, so the metric and the Apps view agree.
    metrics.registry.collect(CONTROLLER_METRICS.rolloutHeld, () =>
      this.apps.list().flatMap((yas) => {
        const c = yas.status?.conditions?.find((x) => x.type === YAS_CONDITION_ROLLOUT);
        const stand = readRolloutCondition(c);
        if (stand?.kind !== 'paused' && stand?.kind !== 'failing') return [];
        const labels = {
          namespace: yas.metadata.namespace ?? '',
          yurtappset: yas.metadata.name ?? '',
          reason: stand.kind,
        };
        return [[labels, 1] as const];
      }),
    );
    this.apps.on((_t, yas) => r.queue.add(objectKey(yas)));
    const onWorkload = (_t: unknown, w: Workload) => {
      const app = w.metadata.labels?.[LABEL_REF_YURTAPPSET];
      if (app && w.metadata.namespace) r.queue.add(`${w.metadata.namespace}/${app}`);
    };
    this.deployments.on(onWorkload);
    this.statefulsets.on(onWorkload);
    this.pools.on(() => {
      for (const yas of this.apps.list()) r.queue.add(objectKey(yas));
    });
    return r;
  }

  private owned(yas: YurtAppSet): Map<string, Workload> {
    const inf = workloadKind(yas) === 'StatefulSet' ? this.statefulsets : this.deployments;
    const out = new Map<string, Workload>();
    for (const w of inf.list()) {
      if (w.metadata.namespace !== yas.metadata.namespace) continue;
      if (w.metadata.labels?.[LABEL_REF_YURTAPPSET] !== yas.metadata.name) continue;
      if (!w.metadata.ownerReferences?.some((o) => o.uid === yas.metadata.uid)) continue;
      const pool = w.metadata.labels?.[LABEL_POOL_NAME];
      if (pool) out.set(pool, w);
    }
    return out;
  }

  private async reconcile(key: string) {
    const yas = this.apps.get(key);
    if (!yas || yas.metadata.deletionTimestamp) return undefined; // owner references make GC delete the workloads
    const { namespace } = splitKey(key);
    const kind = workloadKind(yas);
    const res = kind === 'StatefulSet' ? RESOURCES.statefulsets : RESOURCES.deployments;
    const ref = { ...yas, apiVersion: 'apps.openyurt.io/v1beta1', kind: 'YurtAppSet' };
    const selected = yurtAppSetPools(yas, this.pools.list());
    const existing = this.owned(yas);

    let rendered: RenderedWorkload[];
    try {
      rendered = selected.map((p) => renderWorkload(yas, p));
    } catch (e) {
      if (!(e instanceof TweakError)) throw e;
      this.events.record(ref, 'Warning', 'InvalidTweak', e.message);
      await this.writeStatus(yas, {
        ...(yas.status ?? {}),
        conditions: setCondition(yas.status?.conditions, {
          type: YAS_CONDITION_APP_DISPATCHED,
          status: 'False',
          reason: 'InvalidTweak',
          message: e.message,
        }),
      });
      return undefined;
    }

    const states = new Map<string, WorkloadState>();
    for (const [pool, w] of existing) {
      const st = observeWorkload(kind, w);
      const exp = this.expected.get(`${key}/${pool}`);
      if (exp !== undefined) {
        if (st.revision === exp && (w.status?.observedGeneration ?? 0) >= (w.metadata.generation ?? 0)) {
          this.expected.delete(`${key}/${pool}`);
        } else {
          st.revision = exp;
          st.rolledOut = false;
          st.ready = false;
          delete st.failing;
        }
      }
      states.set(pool, st);
    }
    const plan = planRollout({
      desired: rendered.map((r) => ({ pool: r.pool, revision: r.revision })),
      actual: states,
      maxUnavailable: maxUnavailablePools(yas),
      held: rolloutPauseRequested(yas.metadata.annotations),
    });

    for (const r of rendered) {
      if (plan.create.includes(r.pool)) {
        try {
          await this.client.create(res, r.object);
        } catch (e) {
          if ((e as { status?: number }).status !== 409) throw e;
          // Exists but not ours (no owner reference): never take over someone else's workload.
          this.events.record(
            ref,
            'Warning',
            'NameTaken',
            `${kind} ${r.object.metadata.name} exists and is not owned by this YurtAppSet`,
          );
          continue;
        }
        this.expected.set(`${key}/${r.pool}`, r.revision);
        states.set(r.pool, { revision: r.revision, rolledOut: false, ready: false });
        this.events.record(
          ref,
          'Normal',
          'WorkloadCreated',
          `created ${kind} ${r.object.metadata.name} in pool ${r.pool}`,
        );
      } else if (plan.update.includes(r.pool)) {
        const cur = existing.get(r.pool) as Workload;
        const next: Workload = {
          ...r.object,
          metadata: {
            ...cur.metadata,
            labels: { ...(cur.metadata.labels ?? {}), ...(r.object.metadata.labels ?? {}) },
            annotations: { ...(cur.metadata.annotations ?? {}), ...(r.object.metadata.annotations ?? {}) },
            ownerReferences: r.object.metadata.ownerReferences,
          },
        };
        delete next.status;
        await this.client.update(res, next); // carries resourceVersion: a 409 retries the whole reconcile
        this.expected.set(`${key}/${r.pool}`, r.revision);
        states.set(r.pool, { revision: r.revision, rolledOut: false, ready: false });
        this.events.record(
          ref,
          'Normal',
          'PoolUpdating',
          `updating pool ${r.pool} to revision ${r.revision}`,
        );
      }
    }

    const wanted = new Set(rendered.map((r) => r.pool));
    for (const [pool, w] of existing) {
      if (wanted.has(pool) || plan.held) continue;
      try {
        await this.client.delete(res, w.metadata.name, w.metadata.namespace ?? namespace);
        this.events.record(
          ref,
          'Normal',
          'WorkloadDeleted',
          `deleted ${kind} ${w.metadata.name}: pool ${pool} no longer selected`,
        );
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      states.delete(pool);
    }

    const status = this.status(yas, rendered, states, plan);
    await this.writeStatus(yas, status);
    const was = readRolloutCondition(yas.status?.conditions?.find((c) => c.type === YAS_CONDITION_ROLLOUT));
    if (plan.paused && was?.kind !== 'failing') {
      this.events.record(
        ref,
        'Warning',
        'RolloutPaused',
        `rollout paused at pool ${plan.paused.pool}: ${plan.paused.reason}`,
      );
    }
    if (plan.held && was?.kind !== 'paused') {
      this.events.record(
        ref,
        'Normal',
        'PausedByUser',
        `rollout held by the pause annotation; waiting: ${plan.waiting.join(', ') || 'none'}`,
      );
    }
    // Held: nothing to look at again until the YurtAppSet (its annotation) changes.
    if (plan.held) return undefined;
    const settled = rendered.every((r) => {
      const s = states.get(r.pool);
      return s && s.revision === r.revision && s.rolledOut;
    });
    return settled ? undefined : { requeueAfterMs: ROLLOUT_RECHECK_MS };
  }

  private status(
    yas: YurtAppSet,
    rendered: RenderedWorkload[],
    states: Map<string, WorkloadState>,
    plan: ReturnType<typeof planRollout>,
  ): YurtAppSetStatus {
    const total = states.size;
    let ready = 0;
    let updated = 0;
    for (const r of rendered) {
      const s = states.get(r.pool);
      if (!s) continue;
      if (s.ready) ready++;
      if (s.revision === r.revision && s.rolledOut) updated++;
    }
    const missing = rendered.filter((r) => !states.has(r.pool)).map((r) => r.pool);
    const pools = rendered.length;
    const rollout = rolloutCondition(
      plan.held
        ? { kind: 'paused', waiting: plan.waiting }
        : plan.paused
          ? { kind: 'failing', ...plan.paused }
          : plan.update.length || plan.waiting.length
            ? { kind: 'rolling', updating: plan.update, waiting: plan.waiting }
            : { kind: 'complete' },
    );
    const conditions = [
      condition(YAS_CONDITION_POOL_FOUND, pools > 0, {
        trueReason: 'PoolFound',
        trueMessage: rendered.map((r) => r.pool).join(', '),
        falseReason: 'NoPoolFound',
        falseMessage: 'no NodePool matches pools or nodepoolSelector',
      }),
      condition(YAS_CONDITION_APP_DISPATCHED, missing.length === 0, {
        trueReason: 'Dispatched',
        falseReason: 'Pending',
        falseMessage: `no workload yet in ${missing.join(', ')}`,
      }),
      condition(YAS_CONDITION_APP_UPDATED, updated === pools, {
        trueReason: 'Updated',
        falseReason: 'Updating',
        falseMessage: `${updated}/${pools} pools updated`,
      }),
      condition(YAS_CONDITION_APP_READY, ready === pools, {
        trueReason: 'Ready',
        falseReason: 'NotReady',
        falseMessage: `${ready}/${pools} pools ready`,
      }),
      rollout,
    ].reduce<Condition[]>((list, c) => setCondition(list, c), yas.status?.conditions ?? []);
    // One short id for the whole desired state (template + tweaks as rendered for every pool).
    const currentRevision = createHash('sha256')
      .update(rendered.map((r) => `${r.pool}=${r.revision}`).join(','))
      .digest('hex')
      .slice(0, 10);
    return {
      observedGeneration: yas.metadata.generation ?? 0,
      currentRevision,
      readyWorkloads: ready,
      updatedWorkloads: updated,
      totalWorkloads: total,
      conditions,
    };
  }

  private async writeStatus(yas: YurtAppSet, status: YurtAppSetStatus): Promise<void> {
    const strip = (s: YurtAppSetStatus | undefined) =>
      JSON.stringify({
        ...s,
        conditions: s?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
      });
    if (strip(yas.status) === strip(status)) return;
    try {
      await this.client.patch(
        YURTAPPSET_RESOURCE,
        yas.metadata.name,
        { status },
        {
          namespace: yas.metadata.namespace,
          subresource: 'status',
        },
      );
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** A status condition that is True with one reason or False with another (and why). */
function condition(
  type: string,
  isTrue: boolean,
  r: { trueReason: string; trueMessage?: string; falseReason: string; falseMessage: string },
): Condition {
  return isTrue
    ? { type, status: 'True', reason: r.trueReason, message: r.trueMessage ?? '' }
    : { type, status: 'False', reason: r.falseReason, message: r.falseMessage };
}
