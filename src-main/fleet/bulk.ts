/**
 * One write per node for many nodes: a few at a time (a pool of 500 must not open 500 requests),
 * every node's outcome reported, one node's failure never stopping the rest.
 */
import { AppError } from '../ipc/errors.ts';
import type { NodeWriteResult } from '../ipc/fleet-types.ts';

export const BULK_CONCURRENCY = 8;

export async function forEachNode<R extends NodeWriteResult>(
  nodes: readonly string[],
  write: (node: string) => Promise<R>,
): Promise<{ results: R[]; changed: number; failed: number }> {
  const results: R[] = new Array(nodes.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < nodes.length; i = next++) {
      const node = nodes[i] as string;
      try {
        results[i] = await write(node);
      } catch (e) {
        const error =
          e instanceof AppError
            ? e.toIpc()
            : { code: 'internal', message: (e as Error).message ?? String(e) };
        results[i] = { node, ok: false, error } as R;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(BULK_CONCURRENCY, nodes.length) }, worker));
  return {
    results,
    changed: results.filter((r) => r.ok && !r.unchanged).length,
    failed: results.filter((r) => !r.ok).length,
  };
}

/** A label/annotation value change on one node as a merge patch (null removes it). */
export function metadataPatch(
  field: 'labels' | 'annotations',
  key: string,
  value: string | null,
): { metadata: Record<string, Record<string, string | null>> } {
  return { metadata: { [field]: { [key]: value } } };
}
