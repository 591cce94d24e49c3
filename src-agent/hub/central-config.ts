import {
  BUILTIN_CACHE_AGENTS,
  CENTRAL_CONFIG_NAME,
  CENTRAL_CONFIG_NAMESPACE,
  DEFAULT_FILTER_COMPONENTS,
  FILTER_NAMES,
  type FilterComponents,
  type HubConfig,
  POOL_CONFIG_PREFIX,
} from '../api/hub-config.ts';
import { CloudInformer, type InformedObject } from './cloud-informer.ts';
import type { Logger } from './log.ts';
import type { Storage } from './storage.ts';
import type { Upstream } from './upstream.ts';

type Data = Record<string, string>;

/** What the hub acts on right now: the config file merged with the central ConfigMaps. */
export interface EffectiveSettings {
  /** Extra cacheable agents beyond the built-in ones. */
  cacheAgents: string[];
  filters: FilterComponents;
  /** False when the pool's policy forbids keeping Secrets on its nodes' disks. */
  cacheSecrets: boolean;
}

const list = (s: string | undefined) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * Merges, in order: the config file, `kube-system/yurt-hub-cfg` (OpenYurt keys: `cache_agents`, and per
 * filter `servicetopology` / `filter_servicetopology` etc. — components added to the filter's defaults, as
 * yurthub does), then `kube-system/edgefleet-hub-<pool>` (`cache_agents` added, `cacheSecrets: "false"`,
 * `disabledFilters: "a,b"`).
 */
export function mergeSettings(
  base: HubConfig,
  global: Data | undefined,
  pool: Data | undefined,
): EffectiveSettings {
  const agents = new Set([...base.cacheAgents, ...list(global?.cache_agents), ...list(pool?.cache_agents)]);
  for (const b of BUILTIN_CACHE_AGENTS) agents.delete(b);
  const filters: FilterComponents = {};
  const disabled = new Set(list(pool?.disabledFilters));
  for (const name of FILTER_NAMES) {
    if (disabled.has(name)) continue;
    const comps = new Set([
      ...(base.filters?.[name] ?? DEFAULT_FILTER_COMPONENTS[name]),
      ...list(global?.[name]),
      ...list(global?.[`filter_${name}`]),
      ...list(pool?.[name]),
    ]);
    filters[name] = [...comps];
  }
  return { cacheAgents: [...agents], filters, cacheSecrets: pool?.cacheSecrets?.trim() !== 'false' };
}

/** Where the last-known ConfigMaps are kept (encrypted, atomic) for starts while offline. */
const PERSIST_KEY = {
  component: '_hub',
  resource: { resource: 'configmaps', version: 'v1', group: '' },
  namespace: CENTRAL_CONFIG_NAMESPACE,
  name: 'central-config',
};

interface Persisted {
  global?: Data;
  pool?: Data;
  poolName?: string;
}

/**
 * Watches the central ConfigMaps live, persists the last-known copy, and tells the hub whenever the
 * effective settings change. While offline the persisted copy stays in force.
 */
export class CentralConfig {
  private readonly base: HubConfig;
  private readonly upstream: Upstream;
  private readonly storage: Storage;
  private readonly log: Logger;
  private readonly listeners = new Set<(s: EffectiveSettings) => void>();
  private state: Persisted = {};
  private globalInformer: CloudInformer | undefined;
  private poolInformer: CloudInformer | undefined;
  private settings: EffectiveSettings;

  constructor(base: HubConfig, upstream: Upstream, storage: Storage, log: Logger) {
    this.base = base;
    this.upstream = upstream;
    this.storage = storage;
    this.log = log;
    this.settings = mergeSettings(base, undefined, undefined);
  }

  get current(): EffectiveSettings {
    return this.settings;
  }

  onChange(fn: (s: EffectiveSettings) => void): void {
    this.listeners.add(fn);
  }

  /** Loads the persisted copy (so an offline start uses the last policy) and starts watching. */
  async start(): Promise<void> {
    const saved = (await this.storage.get(PERSIST_KEY)) as Persisted | undefined;
    if (saved) {
      this.state = saved;
      this.recompute();
    }
    this.globalInformer = this.informer(CENTRAL_CONFIG_NAME, (d) => {
      this.state = { ...this.state, global: d };
      void this.persistAndApply();
    });
    if (this.state.poolName) this.setPool(this.state.poolName);
  }

  /** The node's pool became known or changed: follow that pool's override ConfigMap. */
  setPool(pool: string | undefined): void {
    if (pool === this.state.poolName && this.poolInformer) return;
    this.poolInformer?.stop();
    this.poolInformer = undefined;
    if (pool !== this.state.poolName) {
      this.state = { ...this.state, poolName: pool, pool: undefined };
      void this.persistAndApply();
    }
    if (pool)
      this.poolInformer = this.informer(`${POOL_CONFIG_PREFIX}${pool}`, (d) => {
        this.state = { ...this.state, pool: d };
        void this.persistAndApply();
      });
  }

  stop(): void {
    this.globalInformer?.stop();
    this.poolInformer?.stop();
  }

  private informer(name: string, onData: (d: Data | undefined) => void): CloudInformer {
    const inf = new CloudInformer({
      upstream: this.upstream,
      path: `/api/v1/namespaces/${CENTRAL_CONFIG_NAMESPACE}/configmaps`,
      query: { fieldSelector: `metadata.name=${name}` },
      log: this.log,
      onChange: (store) => {
        const cm = [...store.values()][0] as (InformedObject & { data?: Data }) | undefined;
        onData(cm?.data ?? undefined);
      },
    });
    inf.start();
    return inf;
  }

  private async persistAndApply(): Promise<void> {
    this.recompute();
    await this.storage
      .put(PERSIST_KEY, this.state)
      .catch((err: Error) => this.log.warn('central_config.persist_failed', { error: err.message }));
  }

  private recompute(): void {
    const next = mergeSettings(this.base, this.state.global, this.state.pool);
    if (JSON.stringify(next) === JSON.stringify(this.settings)) return;
    this.settings = next;
    this.log.info('central_config.applied', { ...next });
    for (const fn of this.listeners) fn(next);
  }
}
