import { describe, expect, it } from 'vitest';
import { createStore } from 'zustand/vanilla';
import type { EventChannel, RequestChannel } from '../../src-main/ipc/contract.ts';
import type { DrainEvent, FleetCapabilities } from '../../src-main/ipc/fleet-types.ts';
import type { Transport } from '../transport/transport.ts';
import { IpcCallError } from '../transport/transport.ts';
import type { AppState } from './app-store.ts';
import { actionKey, createFleetActions } from './fleet-actions.ts';

const CAPS: FleetCapabilities = {
  clusterId: 'c1',
  checkedAt: '',
  controlPlane: { kind: 'edgefleet', evidence: [], explanation: '' },
  served: {},
  actions: [{ action: 'nodes:assign-pool', label: 'move nodes between pools', enabled: true }],
};

/** Main in a box: answers from `answers`, records every call, pushes events on demand. */
function fakeMain(answers: Partial<Record<RequestChannel, (input: unknown) => unknown>>) {
  const calls: [RequestChannel, unknown][] = [];
  const listeners = new Map<EventChannel, ((p: unknown) => void)[]>();
  const transport = {
    kind: 'websocket',
    async invoke(channel: RequestChannel, input: unknown) {
      calls.push([channel, input]);
      const a = answers[channel];
      if (!a) throw new Error(`unexpected ${channel}`);
      return a(input);
    },
    on(channel: EventChannel, cb: (p: unknown) => void) {
      listeners.set(channel, [...(listeners.get(channel) ?? []), cb]);
      return () => {};
    },
    onState: () => () => {},
  } as unknown as Transport;
  const emit = (channel: EventChannel, p: unknown) => {
    for (const cb of listeners.get(channel) ?? []) cb(p);
  };
  return { transport, calls, emit };
}

function appWith(state: 'connected' | 'unreachable') {
  return createStore<AppState>()(
    () =>
      ({
        activeClusterId: 'c1',
        clusters: { c1: { connection: { state, since: '' } } },
      }) as unknown as AppState,
  );
}
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('fleet actions in the renderer', () => {
  it('asks for capabilities when the open cluster is connected', async () => {
    const main = fakeMain({ 'fleet:capabilities': () => CAPS });
    const s = createFleetActions(main.transport, appWith('connected'));
    await tick();
    expect(s.getState().capabilities).toEqual(CAPS);
    expect(main.calls[0]).toEqual(['fleet:capabilities', { clusterId: 'c1' }]);
  });

  it('assign: says what moved, and undo puts each node back into its previous pool', async () => {
    const main = fakeMain({
      'fleet:capabilities': () => CAPS,
      'fleet:nodes:assignPool': () => ({
        changed: 3,
        failed: 0,
        results: [
          { node: 'a', ok: true, previous: 'north' },
          { node: 'b', ok: true, previous: null },
          { node: 'c', ok: true, previous: 'north' },
        ],
      }),
    });
    const s = createFleetActions(main.transport, appWith('connected'));
    expect(await s.getState().assign(['a', 'b', 'c'], 'east')).toBe(true);
    const st = s.getState().status[actionKey.assign];
    expect(st?.result).toBe('3 nodes moved to east');
    await st?.undo?.();
    const undo = main.calls.filter(([c]) => c === 'fleet:nodes:assignPool').slice(1);
    expect(undo.map(([, i]) => i)).toEqual([
      { clusterId: 'c1', nodes: ['a', 'c'], pool: 'north' },
      { clusterId: 'c1', nodes: ['b'], pool: null },
    ]);
    expect(s.getState().status[actionKey.assign]?.result).toMatch(/^Undone/);
  });

  it('an error from main shows as message + fix; a write where every node failed is an error too', async () => {
    const main = fakeMain({
      'fleet:capabilities': () => CAPS,
      'fleet:nodepools:delete': () => {
        throw new IpcCallError({
          code: 'fleet/pool-has-members',
          message: 'Pool east still has 2 member nodes: a, b.',
          fix: 'Move them out first.',
        });
      },
      'fleet:nodes:cordon': () => ({
        changed: 0,
        failed: 1,
        results: [
          { node: 'a', ok: false, error: { code: 'fleet/forbidden', message: 'may not patch nodes' } },
        ],
      }),
    });
    const s = createFleetActions(main.transport, appWith('connected'));
    expect(await s.getState().deletePool('east')).toBe(false);
    expect(s.getState().status[actionKey.poolDelete('east')]?.error).toEqual({
      message: 'Pool east still has 2 member nodes: a, b.',
      fix: 'Move them out first.',
    });
    expect(await s.getState().cordon(['a'], true)).toBe(false);
    expect(s.getState().status[actionKey.cordon('a')]?.error?.message).toBe('may not patch nodes');
  });

  it('drain events update the drain per pod, and the end replaces it', async () => {
    const info = {
      drainId: 'd1',
      clusterId: 'c1',
      node: 'n1',
      startedAt: '',
      state: 'running' as const,
      pods: [{ namespace: 'default', name: 'web-1', status: 'pending' as const }],
    };
    const main = fakeMain({ 'fleet:capabilities': () => CAPS, 'fleet:drain:start': () => info });
    const s = createFleetActions(main.transport, appWith('connected'));
    await s.getState().drain('n1');
    const ev: DrainEvent = {
      drainId: 'd1',
      clusterId: 'c1',
      node: 'n1',
      at: '',
      pod: { namespace: 'default', name: 'web-1', status: 'evicting' },
    };
    main.emit('fleet:drain', ev);
    expect(s.getState().drains.d1?.pods[0]?.status).toBe('evicting');
    main.emit('fleet:drain', { ...ev, pod: undefined, info: { ...info, state: 'done', pods: [] } });
    expect(s.getState().drains.d1?.state).toBe('done');
  });
});

describe('install EdgeFleet from the renderer', () => {
  const plan = {
    clusterId: 'c1',
    controlPlane: { kind: 'none' as const, evidence: [], explanation: '' },
    objects: [
      {
        id: 'CustomResourceDefinition nodepools.apps.openyurt.io',
        kind: 'CustomResourceDefinition',
        name: 'n',
        change: 'create' as const,
      },
      {
        id: 'Deployment kube-system/edgefleet-controller',
        kind: 'Deployment',
        name: 'd',
        change: 'unchanged' as const,
      },
    ],
  };

  it('plan, then apply with the plan’s options; progress per object; a failed object is the error', async () => {
    const main = fakeMain({
      'fleet:capabilities': () => CAPS,
      'fleet:install:plan': () => plan,
      'fleet:install:apply': () => {
        main.emit('fleet:install', { clusterId: 'c1', at: '', id: plan.objects[0]?.id, state: 'applied' });
        return {
          clusterId: 'c1',
          ok: false,
          objects: [],
          error: {
            code: 'fleet/forbidden',
            message: 'Deployment kube-system/edgefleet-controller: no',
            fix: 'ask',
          },
        };
      },
    });
    const s = createFleetActions(main.transport, appWith('connected'));
    expect(await s.getState().applyInstall()).toBe(false); // nothing planned yet: nothing sent
    expect(main.calls.some(([c]) => c === 'fleet:install:apply')).toBe(false);

    expect(await s.getState().planInstall({ image: 'mirror/agent:1', webhook: false })).toBe(true);
    expect(s.getState().status[actionKey.installPlan]?.result).toBe('1 of 2 objects would change.');
    expect(s.getState().install?.plan).toEqual(plan);

    expect(await s.getState().applyInstall()).toBe(false);
    expect(main.calls.find(([c]) => c === 'fleet:install:apply')?.[1]).toEqual({
      clusterId: 'c1',
      image: 'mirror/agent:1',
      webhook: false,
    });
    expect(s.getState().install?.progress[plan.objects[0]?.id as string]?.state).toBe('applied');
    expect(s.getState().status[actionKey.installApply]?.error).toEqual({
      message: 'Deployment kube-system/edgefleet-controller: no',
      fix: 'ask',
    });
  });
});
