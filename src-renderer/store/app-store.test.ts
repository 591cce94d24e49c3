import { describe, expect, it } from 'vitest';
import { type ClusterDiff, type ClusterSnapshot, RESOURCE_KINDS } from '../../src-main/ipc/types.ts';
import { fakeMain } from '../../test/unit/fake-main.ts';
import { createAppStore } from './app-store.ts';

const ID = 'imported-1/lab';

function snapshot(seq: number, nodes: string[]): ClusterSnapshot {
  const resources = Object.fromEntries(
    RESOURCE_KINDS.map((k) => [
      k,
      {
        state: { status: 'synced' },
        items: k === 'nodes' ? nodes.map((name) => ({ name, conditions: [] })) : [],
      },
    ]),
  ) as unknown as ClusterSnapshot['resources'];
  return {
    clusterId: ID,
    seq,
    takenAt: '',
    connection: { state: 'connected', since: '' },
    flavor: { kind: 'none', nodePools: true, yurtAppSets: true, capabilities: [], explanation: '' },
    resources,
    heartbeats: {},
  };
}
const diff = (seq: number, node: string): ClusterDiff => ({
  clusterId: ID,
  seq,
  at: '',
  resources: { nodes: { upserts: [{ name: node, conditions: [] }], removes: [] } },
});

/** Main answering the app store from `truth` (a cluster's snapshot). */
function mainWith(truth: { snap: ClusterSnapshot }) {
  const snap = () => truth.snap;
  return fakeMain({
    'clusters:watch': snap,
    'clusters:snapshot': snap,
    'clusters:listSources': () => [],
    'vault:status': () => ({ backend: 'keychain', detail: '', entries: 0 }),
  });
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('app store', () => {
  it('opens a cluster, applies diffs, and on a gap fetches one fresh snapshot', async () => {
    const truth = { snap: snapshot(3, ['a']) };
    const main = mainWith(truth);
    const store = createAppStore(main.transport, { tickMs: 0 });
    await store.getState().openCluster(ID);
    const nodes = () => [...(store.getState().mirror(ID)?.data.objects.nodes.keys() ?? [])].sort();
    expect(store.getState().view).toBe('pools');
    expect(nodes()).toEqual(['a']);

    main.emit('cluster:diff', diff(4, 'b'));
    expect(nodes()).toEqual(['a', 'b']);
    expect(main.of('clusters:snapshot')).toHaveLength(0);

    // seq 5 and 6 are lost; 7 and 8 arrive. Main's truth by now includes them all.
    truth.snap = snapshot(7, ['a', 'b', 'c', 'd', 'e']);
    main.emit('cluster:diff', diff(7, 'e'));
    main.emit('cluster:diff', diff(8, 'f'));
    await flush();
    expect(main.of('clusters:snapshot')).toHaveLength(1);
    expect(nodes()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(store.getState().mirror(ID)?.needsSnapshot).toBe(false);
    expect(main.unexpected).toEqual([]);
  });

  it('ignores events for clusters this window did not open', () => {
    const main = mainWith({ snap: snapshot(0, []) });
    const store = createAppStore(main.transport, { tickMs: 0 });
    main.emit('cluster:snapshot', { ...snapshot(0, ['x']), clusterId: 'other/ctx' });
    expect(store.getState().clusters).toEqual({});
    expect(store.getState().mirror('other/ctx')).toBeUndefined();
    expect(main.unexpected).toEqual([]);
  });
});
