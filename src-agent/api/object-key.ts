/**
 * Object keys, shared by the controller's work queues, the app's cluster state and (through
 * src-main/ipc) the renderer's store. Pure: no Node imports, so the renderer bundle can take it.
 */

/** "ns/name" for namespaced objects, "name" for cluster-scoped ones; tolerates a partial object. */
export function objectKey(o: { metadata?: { name?: string; namespace?: string } }): string {
  const m = o.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name ?? ''}` : (m.name ?? '');
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
