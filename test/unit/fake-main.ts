/**
 * The renderer's transport with main replaced, for store and client unit tests.
 */
import type { EventChannel, EventMap, RequestChannel } from '../../src-main/ipc/contract.ts';
import type { Transport, TransportState } from '../../src-renderer/transport/transport.ts';

/**
 * Main in a box: answers the channels it was told to, records every call, pushes events and
 * connection states on demand. A call it did not expect is recorded as a failure, which
 * `afterEach` turns into a failed test — even when the code under test caught the rejection.
 */
export function fakeMain(answers: Partial<Record<RequestChannel, (input: never) => unknown>>) {
  const calls: [RequestChannel, unknown][] = [];
  const unexpected: string[] = [];
  const listeners = new Map<EventChannel, Set<(p: unknown) => void>>();
  const stateListeners = new Set<(s: TransportState) => void>();
  const transport: Transport = {
    kind: 'websocket',
    invoke: (async (channel: RequestChannel, input: unknown) => {
      calls.push([channel, input]);
      const answer = answers[channel] as ((i: unknown) => unknown) | undefined;
      if (!answer) {
        unexpected.push(`${channel} ${JSON.stringify(input)}`);
        throw new Error(`unexpected ${channel}`);
      }
      return answer(input);
    }) as Transport['invoke'],
    on: ((channel: EventChannel, cb: (p: unknown) => void) => {
      const set = listeners.get(channel) ?? new Set();
      listeners.set(channel, set);
      set.add(cb);
      return () => set.delete(cb);
    }) as Transport['on'],
    onState: (cb) => {
      stateListeners.add(cb);
      cb('open');
      return () => stateListeners.delete(cb);
    },
  };
  const emit = <E extends EventChannel>(channel: E, p: EventMap[E]) => {
    for (const cb of listeners.get(channel) ?? []) cb(p);
  };
  const setState = (s: TransportState) => {
    for (const cb of stateListeners) cb(s);
  };
  const of = (channel: RequestChannel) => calls.filter(([c]) => c === channel).map(([, i]) => i);
  return { transport, calls, unexpected, emit, setState, of };
}
