import type { ResourceKey } from '../storage.ts';
import { isCore, type KubeObj, type ResponseFilter } from './types.ts';

/** Where pods on this node reach the API: the hub's secure proxy. */
export interface MasterServiceTarget {
  host: string;
  port: number;
}

interface ServicePort {
  name?: string;
  port?: number;
  [k: string]: unknown;
}

/**
 * Master service: kubelet derives pods' KUBERNETES_SERVICE_HOST/PORT from `default/kubernetes`; pointing
 * it at the hub's secure proxy keeps in-cluster clients working while the node is offline.
 */
export class MasterServiceFilter implements ResponseFilter {
  readonly name = 'masterservice' as const;
  private readonly target: () => MasterServiceTarget | undefined;

  constructor(target: () => MasterServiceTarget | undefined) {
    this.target = target;
  }

  /** Only while the hub's secure proxy serves the target: otherwise pods would get an address nobody answers. */
  handles(r: ResourceKey): boolean {
    return isCore(r, 'services') && this.target() !== undefined;
  }

  filter(obj: KubeObj): KubeObj | undefined {
    if (obj.metadata?.namespace !== 'default' || obj.metadata?.name !== 'kubernetes') return obj;
    const t = this.target();
    if (!t) return obj;
    const spec = (obj.spec ?? {}) as { ports?: ServicePort[]; [k: string]: unknown };
    const ports = (spec.ports ?? []).map((p) => (p.name === 'https' ? { ...p, port: t.port } : p));
    return { ...obj, spec: { ...spec, clusterIP: t.host, clusterIPs: [t.host], ports } };
  }
}
