/**
 * Drain: cordon the node, then evict its pods through the Eviction API so PodDisruptionBudgets
 * hold. An eviction a PDB refuses (429) is retried with backoff and reported as "blocked by PDB
 * x" until another replica is Ready elsewhere; DaemonSet and mirror pods are skipped (they would
 * come straight back / cannot be evicted). Every pod's state change is an event; the drain can be
 * cancelled and has a deadline. The node stays cordoned whatever the outcome, as with kubectl.
 */
import { AppError } from '../ipc/errors.ts';
import type { DrainEvent, DrainInfo, DrainPod } from '../ipc/fleet-types.ts';
import type { WireObject } from '../ipc/types.ts';
import { apiError, statusOf } from './api-errors.ts';
import { setUnschedulable } from './cordon.ts';
import { accessOf, CORE, describeRef, type FleetKube } from './kube.ts';

export interface DrainOptions {
  timeoutMs: number;
  /** Pod grace period override; default: each pod's own. */
  gracePeriodSeconds?: number;
  /** Evict pods no controller manages (they are gone for good afterwards). */
  force?: boolean;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** How often to look whether evicted pods are gone. */
  pollMs?: number;
}

type Pod = WireObject & {
  spec?: { volumes?: { emptyDir?: unknown }[] };
  status?: { phase?: string };
};

interface Tracked {
  pod: DrainPod;
  uid: string | undefined;
  nextAt: number;
  delayMs: number;
}

const MIRROR = 'kubernetes.io/config.mirror';

/** Why a pod is left alone, or undefined when it is to be evicted. */
export function skipReason(p: Pod): string | undefined {
  if (p.metadata.annotations?.[MIRROR]) return 'mirror (static) pod: kubelet owns it';
  if (p.metadata.ownerReferences?.some((o) => o.controller && o.kind === 'DaemonSet'))
    return 'DaemonSet pod: it runs on every node';
  return undefined;
}

/** The PDB named in a 429's causes ("The disruption budget web needs 1 healthy pods …"). */
export function blockingPdb(body: unknown): string | undefined {
  const s = statusOf(body) as { details?: { causes?: { reason?: string; message?: string }[] } };
  for (const c of s.details?.causes ?? []) {
    const m = /disruption budget (\S+)/.exec(c.message ?? '');
    if (c.reason === 'DisruptionBudget' && m) return m[1];
  }
  return undefined;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

export class Drain {
  readonly info: DrainInfo;
  private readonly kube: FleetKube;
  private readonly emit: (e: DrainEvent) => void;
  private readonly opts: Required<Omit<DrainOptions, 'gracePeriodSeconds'>> & { gracePeriodSeconds?: number };
  private readonly abort = new AbortController();
  private tracked: Tracked[] = [];

  constructor(
    drainId: string,
    clusterId: string,
    node: string,
    kube: FleetKube,
    emit: (e: DrainEvent) => void,
    opts: DrainOptions,
  ) {
    this.kube = kube;
    this.emit = emit;
    this.opts = { backoffMinMs: 1_000, backoffMaxMs: 15_000, pollMs: 1_000, force: false, ...opts };
    this.info = { drainId, clusterId, node, startedAt: new Date().toISOString(), state: 'running', pods: [] };
  }

  cancel(): void {
    this.abort.abort();
  }

  /**
   * Checks and cordons (throwing before any change when a pod may not be evicted), then returns:
   * the evictions go on in the background, reported as events, and `done` settles with the end.
   */
  async start(): Promise<{ done: Promise<DrainInfo> }> {
    const { node } = this.info;
    const pods = await this.kube.list<Pod>(CORE('pods'), { fieldSelector: `spec.nodeName=${node}` });
    const evict: Pod[] = [];
    for (const p of pods) {
      const reason = skipReason(p);
      const dp: DrainPod = {
        namespace: p.metadata.namespace ?? '',
        name: p.metadata.name,
        status: 'pending',
      };
      if (reason) {
        dp.status = 'skipped';
        dp.reason = reason;
      } else evict.push(p);
      this.info.pods.push(dp);
      this.tracked.push({ pod: dp, uid: p.metadata.uid, nextAt: 0, delayMs: this.opts.backoffMinMs });
    }
    const unmanaged = evict.filter((p) => !p.metadata.ownerReferences?.some((o) => o.controller));
    if (unmanaged.length && !this.opts.force)
      throw new AppError(
        'fleet/drain-unmanaged-pods',
        `Node ${node} runs pods no controller manages: ${unmanaged.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ')}. Evicting deletes them for good.`,
        'Drain with force to evict them anyway, or move them yourself first.',
      );
    // Dry run first: a refusal (RBAC, webhook) shows before the node is cordoned.
    await setUnschedulableDry(this.kube, node);
    for (const p of evict) await this.evict(p, true);
    await setUnschedulable(this.kube, node, true);
    for (const p of evict) {
      const emptyDir = p.spec?.volumes?.some((v) => v.emptyDir !== undefined);
      if (emptyDir) this.update(this.trackedOf(p), { reason: 'has emptyDir volumes: their data is lost' });
    }
    return { done: this.run() };
  }

  private trackedOf(p: Pod): Tracked {
    return this.tracked.find(
      (t) => t.pod.namespace === p.metadata.namespace && t.pod.name === p.metadata.name,
    ) as Tracked;
  }

  private update(t: Tracked, change: Partial<DrainPod>): void {
    const before = JSON.stringify(t.pod);
    Object.assign(t.pod, change);
    if (JSON.stringify(t.pod) !== before) this.emit({ ...this.header(), pod: { ...t.pod } });
  }

  private header() {
    return {
      drainId: this.info.drainId,
      clusterId: this.info.clusterId,
      node: this.info.node,
      at: new Date().toISOString(),
    };
  }

  /** POST the Eviction; resolves the HTTP status (2xx, 404 gone, 429 PDB) or throws other errors. */
  private async evict(p: Pod, dryRun: boolean): Promise<{ status: number; body: unknown }> {
    const ref = CORE('pods', p.metadata.name, p.metadata.namespace);
    const body: Record<string, unknown> = {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: p.metadata.name, namespace: p.metadata.namespace },
    };
    const del: Record<string, unknown> = {};
    if (this.opts.gracePeriodSeconds !== undefined) del.gracePeriodSeconds = this.opts.gracePeriodSeconds;
    if (dryRun) del.dryRun = ['All'];
    if (Object.keys(del).length) body.deleteOptions = del;
    const evRef = { ...ref, subresource: 'eviction' };
    // dryRun goes in the query too: the API server takes the PDB check's dry-run from there.
    const query = dryRun ? { dryRun: 'All' } : {};
    const res = await this.kube.call('POST', evRef, { body, query, signal: this.abort.signal });
    if ((res.status >= 200 && res.status < 300) || res.status === 404 || res.status === 429) return res;
    throw apiError(res.status, res.body, accessOf('POST', evRef), `the eviction of ${describeRef(ref)}`);
  }

  private async run(): Promise<DrainInfo> {
    const deadline = Date.now() + this.opts.timeoutMs;
    try {
      for (;;) {
        if (this.abort.signal.aborted) return this.finish('cancelled');
        const open = this.tracked.filter((t) => !['evicted', 'skipped', 'failed'].includes(t.pod.status));
        if (!open.length)
          return this.finish(this.tracked.some((t) => t.pod.status === 'failed') ? 'failed' : 'done');
        if (Date.now() > deadline)
          return this.finish(open.some((t) => t.pod.status === 'blocked') ? 'blocked' : 'timed-out');
        for (const t of open)
          if (t.pod.status !== 'evicting' && t.nextAt <= Date.now()) await this.attempt(t);
        if (open.some((t) => t.pod.status === 'evicting')) await this.collectGone();
        await sleep(this.opts.pollMs, this.abort.signal);
      }
    } catch (e) {
      if (this.abort.signal.aborted) return this.finish('cancelled');
      const error = e instanceof AppError ? e.toIpc() : { code: 'internal', message: (e as Error).message };
      return this.finish('failed', error);
    }
  }

  private async attempt(t: Tracked): Promise<void> {
    const pod = { metadata: { name: t.pod.name, namespace: t.pod.namespace } } as Pod;
    const attempts = (t.pod.attempts ?? 0) + 1;
    try {
      const res = await this.evict(pod, false);
      if (res.status === 404) return this.update(t, { status: 'evicted', attempts, reason: 'already gone' });
      if (res.status === 429) {
        const pdb = blockingPdb(res.body);
        const why = statusOf(res.body).message ?? 'eviction refused';
        this.update(t, {
          status: 'blocked',
          attempts,
          reason: pdb ? `blocked by PDB ${pdb}: waiting for another replica to be Ready` : why,
          ...(pdb ? { pdb } : {}),
        });
        t.nextAt = Date.now() + t.delayMs;
        t.delayMs = Math.min(t.delayMs * 2, this.opts.backoffMaxMs);
        return;
      }
      // No longer blocked: the reason was the PDB's (pdb stays, it did block this pod).
      delete t.pod.reason;
      this.update(t, { status: 'evicting', attempts });
    } catch (e) {
      if (this.abort.signal.aborted) return;
      const error = e instanceof AppError ? e : new AppError('internal', (e as Error).message);
      this.update(t, { status: 'failed', attempts, reason: error.message });
    }
  }

  /** Evicting pods are done once the node no longer runs them (same name may return with a new uid). */
  private async collectGone(): Promise<void> {
    const now = await this.kube.list<Pod>(CORE('pods'), { fieldSelector: `spec.nodeName=${this.info.node}` });
    const uids = new Set(now.map((p) => p.metadata.uid));
    for (const t of this.tracked)
      if (t.pod.status === 'evicting' && !uids.has(t.uid)) this.update(t, { status: 'evicted' });
  }

  private finish(state: DrainInfo['state'], error?: DrainInfo['error']): DrainInfo {
    this.info.state = state;
    this.info.finishedAt = new Date().toISOString();
    if (error) this.info.error = error;
    this.emit({ ...this.header(), info: structuredClone(this.info) });
    return this.info;
  }
}

async function setUnschedulableDry(kube: FleetKube, node: string): Promise<void> {
  await kube.mergePatch(CORE('nodes', node), { spec: { unschedulable: true } }, { dryRun: true });
}
