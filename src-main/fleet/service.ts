/**
 * The fleet part of the IPC surface: one FleetKube per cluster (credentials from its source),
 * served apps.openyurt.io versions discovered and cached briefly, drains tracked by id.
 */
import { randomUUID } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { EventSink } from '../ipc/contract.ts';
import { AppError } from '../ipc/errors.ts';
import type { DrainInfo } from '../ipc/fleet-types.ts';
import type { IpcHandlers } from '../ipc/router.ts';
import type { ConnectionInfo } from '../ipc/types.ts';
import { setAutonomy } from './autonomy.ts';
import { checkCapabilities } from './capabilities.ts';
import { cordonNodes } from './cordon.ts';
import { discoverOpenYurt, type Served } from './discovery.ts';
import { Drain, type DrainOptions } from './drain.ts';
import { FleetKube } from './kube.ts';
import { assignNodes, createNodePool, deleteNodePool, editNodePool } from './nodepools.ts';
import {
  applyYurtAppSetManifest,
  createYurtAppSet,
  setYurtAppSetImage,
  setYurtAppSetPaused,
} from './yurtappsets.ts';

type FleetChannel = Extract<keyof IpcHandlers, `fleet:${string}`>;
type FleetHandlers = Pick<IpcHandlers, FleetChannel>;

export interface FleetServiceOptions {
  kubeConfigFor: (clusterId: string) => Promise<KubeConfig>;
  /** The live view's connection state, when the cluster is watched (writes refuse an unreachable one). */
  connection?: (clusterId: string) => ConnectionInfo | undefined;
  emit: EventSink;
  /** Drain tuning (tests shorten the backoff). */
  drain?: Partial<Omit<DrainOptions, 'timeoutMs'>>;
  /** How long a discovery answer is trusted (a CRD may be installed meanwhile). */
  discoveryTtlMs?: number;
}

const DEFAULT_DRAIN_TIMEOUT_S = 600;
/** Finished drains kept for `fleet:drain:list`. */
const KEEP_FINISHED = 50;

export class FleetService {
  private readonly opts: FleetServiceOptions;
  private readonly clients = new Map<string, Promise<FleetKube>>();
  private readonly served = new Map<string, { at: number; served: Served }>();
  private readonly drains = new Map<string, Drain>();

  constructor(opts: FleetServiceOptions) {
    this.opts = opts;
  }

  kube(clusterId: string): Promise<FleetKube> {
    let k = this.clients.get(clusterId);
    if (!k) {
      k = this.opts
        .kubeConfigFor(clusterId)
        .then((kc) => new FleetKube(kc, { connection: () => this.opts.connection?.(clusterId) }));
      // A failed lookup (no such source) must not stick.
      k.catch(() => this.clients.delete(clusterId));
      this.clients.set(clusterId, k);
    }
    return k;
  }

  /** Forgets the clients of a source's clusters: it was removed or re-imported, or (demo) its cluster was replaced. */
  forgetSource(sourceId: string): void {
    for (const map of [this.clients, this.served])
      for (const id of map.keys()) if (id.startsWith(`${sourceId}/`)) map.delete(id);
  }

  async servedFor(clusterId: string): Promise<{ kube: FleetKube; served: Served }> {
    const kube = await this.kube(clusterId);
    const cached = this.served.get(clusterId);
    if (cached && Date.now() - cached.at < (this.opts.discoveryTtlMs ?? 30_000))
      return { kube, served: cached.served };
    const served = await discoverOpenYurt(kube);
    this.served.set(clusterId, { at: Date.now(), served });
    return { kube, served };
  }

  async startDrain(
    clusterId: string,
    node: string,
    o: { timeoutSeconds?: number; gracePeriodSeconds?: number; force?: boolean },
  ): Promise<DrainInfo> {
    for (const d of this.drains.values())
      if (d.info.clusterId === clusterId && d.info.node === node && d.info.state === 'running')
        throw new AppError(
          'fleet/drain-running',
          `Node ${node} is already being drained (${d.info.drainId}).`,
        );
    const kube = await this.kube(clusterId);
    const opts: DrainOptions = {
      ...this.opts.drain,
      timeoutMs: (o.timeoutSeconds ?? DEFAULT_DRAIN_TIMEOUT_S) * 1000,
    };
    if (o.gracePeriodSeconds !== undefined) opts.gracePeriodSeconds = o.gracePeriodSeconds;
    if (o.force) opts.force = true;
    const drain = new Drain(
      randomUUID(),
      clusterId,
      node,
      kube,
      (e) => this.opts.emit('fleet:drain', e),
      opts,
    );
    await drain.start();
    this.drains.set(drain.info.drainId, drain);
    this.prune();
    return structuredClone(drain.info);
  }

  drain(drainId: string): Drain | undefined {
    return this.drains.get(drainId);
  }

  private prune(): void {
    const finished = [...this.drains.values()].filter((d) => d.info.state !== 'running');
    for (const d of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED)))
      this.drains.delete(d.info.drainId);
  }

  close(): void {
    for (const d of this.drains.values()) d.cancel();
  }

  handlers(): FleetHandlers {
    return {
      'fleet:capabilities': async ({ clusterId, namespace }) =>
        checkCapabilities(await this.kube(clusterId), clusterId, namespace),
      'fleet:nodepools:create': async ({ clusterId, name, ...fields }) => {
        const { kube, served } = await this.servedFor(clusterId);
        return createNodePool(kube, served, name, fields);
      },
      'fleet:nodepools:edit': async ({ clusterId, name, ...fields }) => {
        const { kube, served } = await this.servedFor(clusterId);
        return editNodePool(kube, served, name, fields);
      },
      'fleet:nodepools:delete': async ({ clusterId, name }) => {
        const { kube, served } = await this.servedFor(clusterId);
        await deleteNodePool(kube, served, name);
        return null;
      },
      'fleet:nodes:assignPool': async ({ clusterId, nodes, pool }) => {
        const { kube, served } = await this.servedFor(clusterId);
        return assignNodes(kube, served, nodes, pool);
      },
      'fleet:nodes:setAutonomy': async ({ clusterId, nodes, pool, duration }) =>
        setAutonomy(await this.kube(clusterId), pool ? { pool } : { nodes: nodes ?? [] }, duration),
      'fleet:nodes:cordon': async ({ clusterId, nodes }) =>
        cordonNodes(await this.kube(clusterId), nodes, true),
      'fleet:nodes:uncordon': async ({ clusterId, nodes }) =>
        cordonNodes(await this.kube(clusterId), nodes, false),
      'fleet:drain:start': ({ clusterId, node, ...o }) => this.startDrain(clusterId, node, o),
      'fleet:drain:cancel': ({ drainId }) => {
        const d = this.drains.get(drainId);
        if (!d) throw new AppError('fleet/no-such-drain', `No drain ${drainId}.`);
        d.cancel();
        return null;
      },
      'fleet:drain:list': () => [...this.drains.values()].map((d) => structuredClone(d.info)),
      'fleet:yurtappsets:create': async ({ clusterId, ...input }) => {
        const { kube, served } = await this.servedFor(clusterId);
        return createYurtAppSet(kube, served, input);
      },
      'fleet:yurtappsets:apply': async ({ clusterId, manifest, namespace, force }) => {
        const { kube, served } = await this.servedFor(clusterId);
        return applyYurtAppSetManifest(kube, served, manifest, namespace ?? 'default', force ?? false);
      },
      'fleet:yurtappsets:setImage': async ({ clusterId, namespace, name, image, container }) => {
        const { kube, served } = await this.servedFor(clusterId);
        return setYurtAppSetImage(kube, served, namespace, name, image, container);
      },
      'fleet:yurtappsets:setPaused': async ({ clusterId, namespace, name, paused }) => {
        const { kube, served } = await this.servedFor(clusterId);
        return setYurtAppSetPaused(kube, served, namespace, name, paused);
      },
    };
  }
}
