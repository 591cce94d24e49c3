/**
 * What a bulk write did, in words, and how to undo it: each node's `previous` value says what
 * to put back, so the undo of "move 3 nodes to east" is one write per previous pool.
 */
import type { BulkNodeResult, NodeWriteResult } from '../../src-main/ipc/fleet-types.ts';

/** Changed nodes grouped by the value they had before (null = unset). */
export function byPrevious(results: NodeWriteResult[]): Map<string | null, string[]> {
  const out = new Map<string | null, string[]>();
  for (const r of results) {
    if (!r.ok || r.unchanged) continue;
    const prev = r.previous ?? null;
    out.set(prev, [...(out.get(prev) ?? []), r.node]);
  }
  return out;
}

/** "2 nodes moved to east", "1 unchanged", "1 failed: kwok-0: <why>". */
export function bulkText(done: string, r: BulkNodeResult): string {
  const unchanged = r.results.filter((x) => x.ok && x.unchanged).length;
  const failed = r.results.filter((x) => !x.ok);
  const parts = [`${r.changed} ${r.changed === 1 ? 'node' : 'nodes'} ${done}`];
  if (unchanged) parts.push(`${unchanged} already so`);
  if (failed.length)
    parts.push(
      `${failed.length} failed: ${failed.map((f) => `${f.node}: ${f.error?.message ?? 'error'}`).join('; ')}`,
    );
  return parts.join(', ');
}

/** Nodes whose write changed something (what an undo acts on). */
export const changedNodes = (r: BulkNodeResult): string[] =>
  r.results.filter((x) => x.ok && !x.unchanged).map((x) => x.node);
