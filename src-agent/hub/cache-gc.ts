import type { Logger } from './log.ts';
import type { ObjectKey, ResourceKey, Storage } from './storage.ts';
import type { Upstream } from './upstream.ts';

interface Obj {
  metadata?: { name?: string; namespace?: string };
}

/** Components whose files are hub state, not a client's cache. */
const NOT_CACHES = new Set(['_hub']);
/** Bound on cloud round trips per run, so a huge cache cannot flood a thin uplink. */
const MAX_CHECKS_PER_RUN = 2000;

export interface GcResult {
  checked: number;
  removed: number;
  /** Lists where removing would empty kubelet's pods, which GC refuses to do. */
  refusedWholesale: number;
}

function resourcePath(r: ResourceKey, namespace: string, name = ''): string {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${r.resource}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

/**
 * Removes cached objects that no longer exist in the cloud. Pods are checked against the node's own pod
 * list (the Node authorizer answers 403, not 404, for a pod no longer bound here); other objects by GET,
 * removed only on 404 — a 403 or an error says nothing about existence. Never removes every pod of
 * kubelet's cache at once: that is what an empty answer from a confused API server would look like.
 */
export async function collectGarbage(
  storage: Storage,
  upstream: Upstream,
  nodeName: string,
  log: Logger,
): Promise<GcResult> {
  const result: GcResult = { checked: 0, removed: 0, refusedWholesale: 0 };
  let nodePods: Set<string> | undefined;
  const podsOfNode = async (): Promise<Set<string> | undefined> => {
    if (nodePods) return nodePods;
    const res = await upstream.json(
      'GET',
      `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${nodeName}`)}`,
      undefined,
      30_000,
    );
    if (res.status !== 200) return undefined;
    nodePods = new Set(
      ((res.body as { items?: Obj[] }).items ?? []).map(
        (p) => `${p.metadata?.namespace}/${p.metadata?.name}`,
      ),
    );
    return nodePods;
  };
  for (const component of await storage.components()) {
    if (NOT_CACHES.has(component)) continue;
    for (const r of await storage.resources(component)) {
      // File names are the keys: nothing is read or decrypted to find what to check.
      const keys: ObjectKey[] = await storage.listKeys(component, r);
      const gone: ObjectKey[] = [];
      if (r.group === '' && r.resource === 'pods') {
        const live = await podsOfNode();
        if (!live) continue;
        result.checked += keys.length;
        for (const k of keys) if (!live.has(`${k.namespace}/${k.name}`)) gone.push(k);
        if (component === 'kubelet' && gone.length === keys.length && keys.length > 0) {
          result.refusedWholesale++;
          log.warn('cache.gc_refused', { component, resource: r.resource, wouldRemove: gone.length });
          continue;
        }
      } else {
        for (const k of keys) {
          if (result.checked >= MAX_CHECKS_PER_RUN) break;
          result.checked++;
          const res = await upstream.json('GET', resourcePath(r, k.namespace, k.name)).catch(() => undefined);
          if (res?.status === 404) gone.push(k);
        }
      }
      for (const k of gone) await storage.delete(k);
      result.removed += gone.length;
    }
  }
  if (result.removed > 0 || result.refusedWholesale > 0) log.info('cache.gc', { ...result });
  return result;
}
