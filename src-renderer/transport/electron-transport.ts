import type { EdgefleetBridge } from '../../src-main/ipc/bridge.ts';
import { type Transport, unwrap } from './transport.ts';

/** The preload bridge is always connected: Electron's IPC has no link to lose. */
export function electronTransport(bridge: EdgefleetBridge): Transport {
  return {
    kind: 'electron',
    invoke: async (channel, input) => unwrap(await bridge.invoke(channel, input)),
    on: (channel, callback) => bridge.on(channel, callback),
    onState: (callback) => {
      callback('open');
      return () => {};
    },
  };
}
