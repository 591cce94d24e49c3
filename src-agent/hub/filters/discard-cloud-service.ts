import { ANNOTATION_DISCARD_SERVICE } from '../../api/labels.ts';
import type { ResourceKey } from '../storage.ts';
import { isCore, type KubeObj, type ResponseFilter } from './types.ts';

/** The tunnel server's in-cluster Service, which only makes sense in the cloud (as OpenYurt). */
const CLOUD_ONLY_SERVICES = new Set(['kube-system/x-tunnel-server-internal-svc']);

/** Discard cloud service: Services marked `svc.openyurt.io/discard: "true"` are hidden from edge kube-proxy. */
export class DiscardCloudServiceFilter implements ResponseFilter {
  readonly name = 'discardcloudservice' as const;

  handles(r: ResourceKey): boolean {
    return isCore(r, 'services');
  }

  filter(obj: KubeObj): KubeObj | undefined {
    const m = obj.metadata ?? {};
    if (m.annotations?.[ANNOTATION_DISCARD_SERVICE] === 'true') return undefined;
    if (CLOUD_ONLY_SERVICES.has(`${m.namespace ?? ''}/${m.name ?? ''}`)) return undefined;
    return obj;
  }
}
