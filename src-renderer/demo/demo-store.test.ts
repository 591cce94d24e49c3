import { describe, expect, it } from 'vitest';
import type { EventChannel, EventMap, RequestChannel } from '../../src-main/ipc/contract.ts';
import type { DemoStatus } from '../../src-main/ipc/demo-types.ts';
import type { Transport, TransportState } from '../transport/transport.ts';
import { createDemoStore } from './demo-store.ts';

/** A transport whose answers and events the test drives. */
function fakeTransport(answers: Partial<Record<RequestChannel, unknown>>) {
  const listeners = new Map<EventChannel, ((p: unknown) => void)[]>();
  const stateListeners: ((s: TransportState) => void)[] = [];
  const calls: [RequestChannel, unknown][] = [];
  const transport: Transport = {
    kind: 'websocket',
    invoke: async (channel, input) => {
      calls.push([channel, input]);
      return answers[channel] as never;
    },
    on: (channel, cb) => {
      listeners.set(channel, [...(listeners.get(channel) ?? []), cb as (p: unknown) => void]);
      return () => undefined;
    },
    onState: (cb) => {
      stateListeners.push(cb);
      return () => undefined;
    },
  };
  return {
    transport,
    calls,
    open: () => {
      for (const l of stateListeners) l('open');
    },
    emit: <E extends EventChannel>(channel: E, payload: EventMap[E]) => {
      for (const l of listeners.get(channel) ?? []) l(payload);
    },
  };
}

const running = (startedAt: string): DemoStatus => ({
  state: 'running',
  detail: 'runs',
  clusterId: 'demo/edgefleet-demo',
  startedAt,
});

describe('demo store', () => {
  it('opens the demo once per run: found running on load, not again on reconnect, again after a restart', async () => {
    const opened: string[] = [];
    const t = fakeTransport({ 'demo:status': running('t1') });
    const store = createDemoStore(t.transport, { onRunning: (id) => opened.push(id) });
    t.open();
    await new Promise((r) => setTimeout(r, 0));
    expect(store.getState().status?.state).toBe('running');
    expect(opened).toEqual(['demo/edgefleet-demo']);
    t.open();
    await new Promise((r) => setTimeout(r, 0));
    t.emit('demo:progress', running('t1'));
    expect(opened).toHaveLength(1);
    t.emit('demo:progress', { state: 'stopping', detail: 'stopping' });
    t.emit('demo:progress', running('t2'));
    expect(opened).toHaveLength(2);
  });

  it('start sends the node count only when given', async () => {
    const t = fakeTransport({ 'demo:start': { state: 'starting', detail: 'x' } });
    const store = createDemoStore(t.transport);
    await store.getState().start();
    await store.getState().start(24);
    expect(t.calls).toEqual([
      ['demo:start', {}],
      ['demo:start', { nodes: 24 }],
    ]);
    expect(store.getState().status?.state).toBe('starting');
  });
});
