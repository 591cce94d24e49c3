import type { FilterName } from '../../api/hub-config.ts';
import type { ResourceKey } from '../storage.ts';

export type { FilterName };

/** The few object fields the filters read; everything else passes through untouched. */
export interface KubeObj {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/**
 * One response filter: looks at objects of the resources it handles and returns the object to send
 * (changed or not) or undefined to hide it from the client.
 */
export interface ResponseFilter {
  readonly name: FilterName;
  handles(r: ResourceKey): boolean;
  filter(obj: KubeObj): KubeObj | undefined;
}

export function isCore(r: ResourceKey, resource: string): boolean {
  return r.group === '' && r.resource === resource;
}
