import { describe, expect, it } from 'vitest';
import type { EventChannel, EventMap, RequestChannel } from '../../src-main/ipc/contract.ts';
import { type ClusterDiff, type ClusterSnapshot, RESOURCE_KINDS } from '../../src-main/ipc/types.ts';
import type { Transport, TransportState } from '../transport/transport.ts';
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

/** A main process in a box: answers requests from `truth`, records them, pushes events on demand. */
function fakeMain(truth: { snap: ClusterSnapshot }) {
  const calls: RequestChannel[] = [];
  const listeners = new Map<EventChannel, ((p: unknown) => void)[]>();
  const transport: Transport = {
    kind: 'websocket',
    invoke: async (channel) => {
      calls.push(channel);
      if (channel === 'clusters:watch' || channel === 'clusters:snapshot') return truth.snap as never;
      if (channel === 'clusters:listSources') return [] as never;
      return { backend: 'keychain', detail: '', entries: 0 } as never;
    },
    on: (channel, cb) => {
      listeners.set(channel, [...(listeners.get(channel) ?? []), cb as (p: unknown) => void]);
      return () => {};
    },
    onState: (cb: (s: TransportState) => void) => {
      cb('open');
      return () => {};
    },
  };
  const push = <E extends EventChannel>(channel: E, payload: EventMap[E]) => {
    for (const l of listeners.get(channel) ?? []) l(payload);
  };
  return { transport, calls, push };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('app store', () => {
  it('opens a cluster, applies diffs, and on a gap fetches one fresh snapshot', async () => {
    const truth = { snap: snapshot(3, ['a']) };
    const main = fakeMain(truth);
    const store = createAppStore(main.transport, { tickMs: 0 });
    await store.getState().openCluster(ID);
    const nodes = () => [...(store.getState().mirror(ID)?.data.objects.nodes.keys() ?? [])].sort();
    expect(store.getState().view).toBe('pools');
    expect(nodes()).toEqual(['a']);

    main.push('cluster:diff', diff(4, 'b'));
    expect(nodes()).toEqual(['a', 'b']);
    expect(main.calls.filter((c) => c === 'clusters:snapshot')).toHaveLength(0);

    // seq 5 and 6 are lost; 7 and 8 arrive. Main's truth by now includes them all.
    truth.snap = snapshot(7, ['a', 'b', 'c', 'd', 'e']);
    main.push('cluster:diff', diff(7, 'e'));
    main.push('cluster:diff', diff(8, 'f'));
    await flush();
    expect(main.calls.filter((c) => c === 'clusters:snapshot')).toHaveLength(1);
    expect(nodes()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(store.getState().mirror(ID)?.needsSnapshot).toBe(false);
  });

  it('ignores events for clusters this window did not open', () => {
    const main = fakeMain({ snap: snapshot(0, []) });
    const store = createAppStore(main.transport, { tickMs: 0 });
    main.push('cluster:snapshot', { ...snapshot(0, ['x']), clusterId: 'other/ctx' });
    expect(store.getState().clusters).toEqual({});
    expect(store.getState().mirror('other/ctx')).toBeUndefined();
  });
});
