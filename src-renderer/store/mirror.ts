/**
 * One cluster's state as the renderer holds it: a snapshot from main plus the diffs that
 * followed, in sequence, applied in place to an indexed FleetData (fleet-data.ts). What changes
 * rarely and is shown in the chrome (connection, flavor, resource states) is kept as `meta`,
 * a new object whenever it changes, so the header re-renders only then.
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
  ClusterFlavor,
  ClusterSnapshot,
  ConnectionInfo,
  ResourceKind,
  ResourceState,
} from '../../src-main/ipc/types.ts';
import { RESOURCE_KINDS } from '../../src-main/ipc/types.ts';
import { FleetData } from './fleet-data.ts';

export interface ClusterMeta {
  clusterId: string;
  seq: number;
  connection: ConnectionInfo;
  flavor: ClusterFlavor;
  states: Record<ResourceKind, ResourceState>;
}

/** Bound on buffered diffs: past it the oldest go, and a fresh snapshot covers them anyway. */
export const MAX_BUFFERED_DIFFS = 500;

export class ClusterMirror {
  readonly data = new FleetData();
  meta: ClusterMeta | null = null;
  /** Diffs that cannot be applied yet (no snapshot, or after a gap), ordered by seq. */
  buffered: ClusterDiff[] = [];
  needsSnapshot = false;
  /** How many gaps were seen; shown in diagnostics, asserted in tests. */
  gaps = 0;

  applySnapshot(snap: ClusterSnapshot): void {
    const restarted = this.meta !== null && snap.seq < this.meta.seq;
    if (restarted) this.buffered = [];
    const states = {} as Record<ResourceKind, ResourceState>;
    for (const k of RESOURCE_KINDS) states[k] = snap.resources[k]?.state ?? { status: 'syncing' };
    this.meta = {
      clusterId: snap.clusterId,
      seq: snap.seq,
      connection: snap.connection,
      flavor: snap.flavor,
      states,
    };
    this.data.load(snap);
    this.needsSnapshot = false;
    this.drain();
  }

  applyDiff(d: ClusterDiff): void {
    const meta = this.meta;
    if (!meta || this.needsSnapshot) {
      this.buffer(d);
      return;
    }
    if (d.seq <= meta.seq) return;
    if (d.seq === meta.seq + 1) {
      this.applyOne(d);
      return;
    }
    this.buffer(d);
    this.needsSnapshot = true;
    this.gaps++;
  }

  private applyOne(d: ClusterDiff): void {
    const meta = this.meta as ClusterMeta;
    let states = meta.states;
    for (const kind of RESOURCE_KINDS) {
      const st = d.resources[kind]?.state;
      if (st) states = { ...states, [kind]: st };
    }
    this.meta = {
      ...meta,
      seq: d.seq,
      connection: d.connection ?? meta.connection,
      flavor: d.flavor ?? meta.flavor,
      states,
    };
    this.data.apply(d);
  }

  private buffer(d: ClusterDiff): void {
    if (this.buffered.some((b) => b.seq === d.seq)) return;
    this.buffered.push(d);
    this.buffered.sort((a, b) => a.seq - b.seq);
    if (this.buffered.length > MAX_BUFFERED_DIFFS)
      this.buffered.splice(0, this.buffered.length - MAX_BUFFERED_DIFFS);
  }

  /** Applies buffered diffs that continue the snapshot; stops (and asks for a snapshot) at a gap. */
  private drain(): void {
    const rest: ClusterDiff[] = [];
    let gap = false;
    for (const d of this.buffered) {
      const seq = (this.meta as ClusterMeta).seq;
      if (d.seq <= seq) continue;
      if (!gap && d.seq === seq + 1) this.applyOne(d);
      else {
        gap = true;
        rest.push(d);
      }
    }
    this.buffered = rest;
    this.needsSnapshot = gap;
    if (gap) this.gaps++;
  }
}
