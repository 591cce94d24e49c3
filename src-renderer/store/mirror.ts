/**
 * One cluster's state as the renderer holds it: a snapshot from main plus the diffs that
 * followed, in sequence. Pure functions returning new objects, so React sees every change.
 *
 * Rules (ClusterSnapshot.seq is the seq of the last diff it includes):
 * - before any snapshot, diffs are buffered;
 * - a diff with seq <= current is old news and ignored;
 * - a diff with seq > current + 1 means one was lost: the mirror stops applying, buffers, and
 *   asks for a fresh snapshot (`needsSnapshot`);
 * - a snapshot replaces the state and the buffered diffs after it are applied (if contiguous).
 *   Both transports deliver in send order, so a snapshot can never be older than a diff already
 *   received in the same live session; a snapshot with a LOWER seq therefore means main started
 *   the cluster's live state afresh (seq restarts at 0), and everything buffered is dropped.
 */
import type {
  ClusterDiff,
  ClusterSnapshot,
  ResourceKind,
  ResourceSnapshot,
  WireObject,
} from '../../src-main/ipc/types.ts';

export interface ClusterMirror {
  snapshot: ClusterSnapshot | null;
  /** Diffs that cannot be applied yet (no snapshot, or after a gap), ordered by seq. */
  buffered: ClusterDiff[];
  needsSnapshot: boolean;
  /** How many gaps were seen; shown in diagnostics, asserted in tests. */
  gaps: number;
}

/** Bound on buffered diffs: past it the oldest go, and a fresh snapshot covers them anyway. */
export const MAX_BUFFERED_DIFFS = 500;

export function emptyMirror(): ClusterMirror {
  return { snapshot: null, buffered: [], needsSnapshot: false, gaps: 0 };
}

export function objectKey(o: WireObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

function applyOne(snap: ClusterSnapshot, d: ClusterDiff): ClusterSnapshot {
  const resources = { ...snap.resources };
  for (const [kind, rd] of Object.entries(d.resources) as [
    ResourceKind,
    NonNullable<ClusterDiff['resources'][ResourceKind]>,
  ][]) {
    const current: ResourceSnapshot = resources[kind] ?? { state: { status: 'syncing' }, items: [] };
    let items = current.items;
    if (rd.upserts.length > 0 || rd.removes.length > 0) {
      const byKey = new Map(items.map((o) => [objectKey(o), o]));
      for (const o of rd.upserts) byKey.set(objectKey(o), o);
      for (const k of rd.removes) byKey.delete(k);
      items = [...byKey.values()];
    }
    resources[kind] = { state: rd.state ?? current.state, items };
  }
  return {
    ...snap,
    seq: d.seq,
    connection: d.connection ?? snap.connection,
    flavor: d.flavor ?? snap.flavor,
    resources,
  };
}

function buffer(list: ClusterDiff[], d: ClusterDiff): ClusterDiff[] {
  if (list.some((b) => b.seq === d.seq)) return list;
  const next = [...list, d].sort((a, b) => a.seq - b.seq);
  return next.length > MAX_BUFFERED_DIFFS ? next.slice(next.length - MAX_BUFFERED_DIFFS) : next;
}

/** Applies buffered diffs that continue the snapshot; stops (and asks for a snapshot) at a gap. */
function drain(m: ClusterMirror): ClusterMirror {
  let snap = m.snapshot;
  if (!snap) return m;
  const rest: ClusterDiff[] = [];
  let gap = false;
  for (const d of m.buffered) {
    if (d.seq <= snap.seq) continue;
    if (!gap && d.seq === snap.seq + 1) snap = applyOne(snap, d);
    else {
      gap = true;
      rest.push(d);
    }
  }
  return { ...m, snapshot: snap, buffered: rest, needsSnapshot: gap, gaps: m.gaps + (gap ? 1 : 0) };
}

export function applySnapshot(m: ClusterMirror, snap: ClusterSnapshot): ClusterMirror {
  const restarted = m.snapshot !== null && snap.seq < m.snapshot.seq;
  return drain({ ...m, snapshot: snap, buffered: restarted ? [] : m.buffered, needsSnapshot: false });
}

export function applyDiff(m: ClusterMirror, d: ClusterDiff): ClusterMirror {
  const snap = m.snapshot;
  if (!snap || m.needsSnapshot) return { ...m, buffered: buffer(m.buffered, d) };
  if (d.seq <= snap.seq) return m;
  if (d.seq === snap.seq + 1) return { ...m, snapshot: applyOne(snap, d) };
  return { ...m, buffered: buffer(m.buffered, d), needsSnapshot: true, gaps: m.gaps + 1 };
}
