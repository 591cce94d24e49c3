import { describe, expect, it } from 'vitest';
import {
  type ClusterDiff,
  type ClusterSnapshot,
  type NodeWire,
  RESOURCE_KINDS,
} from '../../src-main/ipc/types.ts';
import { ClusterMirror } from './mirror.ts';

let rv = 0;
const node = (name: string, pool?: string): NodeWire => ({
  name,
  rv: String(++rv),
  conditions: [],
  ...(pool ? { labels: { 'apps.openyurt.io/nodepool': pool } } : {}),
});

function snapshot(seq: number, nodes: NodeWire[]): ClusterSnapshot {
  const resources = Object.fromEntries(
    RESOURCE_KINDS.map((k) => [k, { state: { status: 'synced' }, items: k === 'nodes' ? nodes : [] }]),
  ) as unknown as ClusterSnapshot['resources'];
  return {
    clusterId: 'imported-1/lab',
    seq,
    takenAt: '2025-01-01T00:00:00Z',
    connection: { state: 'connected', since: '2025-01-01T00:00:00Z' },
    flavor: { kind: 'none', nodePools: true, yurtAppSets: true, capabilities: [], explanation: '' },
    resources,
    heartbeats: {},
  };
}

function diff(seq: number, upserts: NodeWire[], removes: string[] = []): ClusterDiff {
  return { clusterId: 'imported-1/lab', seq, at: '', resources: { nodes: { upserts, removes } } };
}

const names = (m: ClusterMirror) => [...m.data.objects.nodes.keys()].sort();
const poolOf = (m: ClusterMirror, name: string) =>
  m.data.get('nodes', name)?.labels?.['apps.openyurt.io/nodepool'];
/** The mirror API in the pure style the cases below are written in. */
const emptyMirror = () => new ClusterMirror();
const applySnapshot = (m: ClusterMirror, s: ClusterSnapshot) => {
  m.applySnapshot(s);
  return m;
};
const applyDiff = (m: ClusterMirror, d: ClusterDiff) => {
  m.applyDiff(d);
  return m;
};

describe('cluster mirror', () => {
  it('applies a snapshot, then contiguous diffs (upsert, change, remove)', () => {
    let m = applySnapshot(emptyMirror(), snapshot(4, [node('a', 'p1'), node('b', 'p1')]));
    m = applyDiff(m, diff(5, [node('c', 'p2')]));
    m = applyDiff(m, diff(6, [node('a', 'p2')], ['b']));
    expect(names(m)).toEqual(['a', 'c']);
    expect(poolOf(m, 'a')).toBe('p2');
    expect(m.meta?.seq).toBe(6);
    expect(m.needsSnapshot).toBe(false);
    expect(m.gaps).toBe(0);
  });

  it('ignores diffs already contained in the snapshot', () => {
    let m = applySnapshot(emptyMirror(), snapshot(7, [node('a', 'p1')]));
    m = applyDiff(m, diff(7, [node('a', 'stale')]));
    m = applyDiff(m, diff(3, [], ['a']));
    expect(poolOf(m, 'a')).toBe('p1');
    expect(m.needsSnapshot).toBe(false);
  });

  it('buffers diffs that arrive before the first snapshot and applies only the newer ones', () => {
    let m = applyDiff(emptyMirror(), diff(2, [node('old')]));
    m = applyDiff(m, diff(3, [node('new')]));
    expect(m.meta).toBeNull();
    m = applySnapshot(m, snapshot(2, [node('old')]));
    expect(names(m)).toEqual(['new', 'old']);
    expect(m.meta?.seq).toBe(3);
    expect(m.buffered).toEqual([]);
  });

  it('on a gap stops applying, asks for a snapshot, and resumes from it with the buffered diffs', () => {
    let m = applySnapshot(emptyMirror(), snapshot(1, [node('a', 'p1')]));
    m = applyDiff(m, diff(3, [node('a', 'p3')])); // seq 2 was lost
    expect(m.needsSnapshot).toBe(true);
    expect(m.gaps).toBe(1);
    expect(poolOf(m, 'a')).toBe('p1'); // nothing applied past the gap
    m = applyDiff(m, diff(4, [node('d')])); // still buffered while waiting
    expect(names(m)).toEqual(['a']);
    // Main's fresh snapshot includes seq 2 and 3; only seq 4 is applied on top.
    m = applySnapshot(m, snapshot(3, [node('a', 'p3'), node('b')]));
    expect(m.needsSnapshot).toBe(false);
    expect(names(m)).toEqual(['a', 'b', 'd']);
    expect(m.meta?.seq).toBe(4);
  });

  it('a fresh snapshot that still leaves a gap before the buffered diffs asks again', () => {
    let m = applySnapshot(emptyMirror(), snapshot(1, []));
    m = applyDiff(m, diff(5, [node('e')]));
    m = applySnapshot(m, snapshot(3, [])); // 4 is still missing
    expect(m.needsSnapshot).toBe(true);
    expect(names(m)).toEqual([]);
    m = applySnapshot(m, snapshot(5, [node('e')]));
    expect(m.needsSnapshot).toBe(false);
    expect(names(m)).toEqual(['e']);
  });

  it('a snapshot with a lower seq (main restarted the live state) replaces everything', () => {
    let m = applySnapshot(emptyMirror(), snapshot(40, [node('a')]));
    m = applyDiff(m, diff(42, [node('x')])); // gap → buffered
    m = applySnapshot(m, snapshot(0, [node('z')]));
    expect(names(m)).toEqual(['z']);
    expect(m.buffered).toEqual([]);
    m = applyDiff(m, diff(1, [node('y')]));
    expect(names(m)).toEqual(['y', 'z']);
  });

  it('takes connection and resource state changes from diffs', () => {
    let m = applySnapshot(emptyMirror(), snapshot(0, []));
    m = applyDiff(m, {
      clusterId: 'imported-1/lab',
      seq: 1,
      at: '',
      connection: { state: 'unreachable', since: 't', lastContactAt: 'c' },
      resources: {
        pods: { state: { status: 'forbidden', message: 'pods is forbidden' }, upserts: [], removes: [] },
      },
    });
    expect(m.meta?.connection.state).toBe('unreachable');
    expect(m.meta?.states.pods.status).toBe('forbidden');
  });
});
