/** Shrinks objects before they cross IPC: managedFields and last-applied config are most of a pod's bytes and useless to the UI. */
import type { WireObject } from '../ipc/types.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export { objectKey } from '../../src-agent/api/object-key.ts';

export function compact(obj: Record<string, unknown>): WireObject {
  const metadata = { ...((obj.metadata ?? {}) as Record<string, unknown>) };
  delete metadata.managedFields;
  const annotations = metadata.annotations as Record<string, string> | undefined;
  if (annotations && LAST_APPLIED in annotations) {
    const { [LAST_APPLIED]: _dropped, ...rest } = annotations;
    metadata.annotations = rest;
  }
  return { ...obj, metadata } as WireObject;
}
