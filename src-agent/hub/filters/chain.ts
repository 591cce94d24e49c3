import type { FilterComponents } from '../../api/hub-config.ts';
import type { RequestInfo } from '../request-info.ts';
import { DiscardCloudServiceFilter } from './discard-cloud-service.ts';
import { MasterServiceFilter, type MasterServiceTarget } from './master-service.ts';
import { NodePortIsolationFilter } from './nodeport-isolation.ts';
import type { PoolView } from './pool-view.ts';
import { type ServiceAnnotations, ServiceTopologyFilter } from './service-topology.ts';
import type { KubeObj, ResponseFilter } from './types.ts';

export interface FilterChainOptions {
  pools: PoolView;
  services: ServiceAnnotations;
  /** Undefined while nothing serves the master-service address: the filter then leaves Services alone. */
  masterService: () => MasterServiceTarget | undefined;
  components: () => FilterComponents;
}

/**
 * The response filters in a fixed order and the rule for which apply to a request: the filter is
 * configured for the requesting component and handles the requested resource.
 */
export class FilterChain {
  private readonly filters: ResponseFilter[];
  private readonly components: () => FilterComponents;
  private readonly pools: PoolView;
  private readonly refilterListeners = new Set<() => void>();

  constructor(o: FilterChainOptions) {
    this.pools = o.pools;
    this.components = o.components;
    this.filters = [
      new DiscardCloudServiceFilter(),
      new NodePortIsolationFilter(o.pools),
      new MasterServiceFilter(o.masterService),
      new ServiceTopologyFilter(o.pools, o.services),
    ];
    o.pools.onChange(() => this.refilter());
  }

  /** The filters for this request, empty when none applies (the response then streams untouched). */
  forRequest(component: string, info: RequestInfo): ResponseFilter[] {
    if (!info.isResource || info.subresource !== '' || !['get', 'list', 'watch'].includes(info.verb))
      return [];
    const comps = this.components();
    return this.filters.filter((f) => (comps[f.name] ?? []).includes(component) && f.handles(info.resource));
  }

  /** Something the filters depend on changed (pool membership, a Service's annotations). */
  refilter(): void {
    for (const fn of [...this.refilterListeners]) fn();
  }

  onRefilter(fn: () => void): () => void {
    this.refilterListeners.add(fn);
    return () => this.refilterListeners.delete(fn);
  }

  get poolView(): PoolView {
    return this.pools;
  }
}

/** Runs an object through filters in order; undefined once one hides it. */
export function applyFilters(filters: readonly ResponseFilter[], obj: KubeObj): KubeObj | undefined {
  let cur: KubeObj | undefined = obj;
  for (const f of filters) {
    if (!cur) return undefined;
    cur = f.filter(cur);
  }
  return cur;
}
