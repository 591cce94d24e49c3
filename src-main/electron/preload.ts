import { contextBridge, ipcRenderer } from 'electron';
import type { EdgefleetBridge } from '../ipc/bridge.ts';
import { EVENT_CHANNELS, type EventChannel, isRequestChannel } from '../ipc/contract.ts';

// The renderer gets exactly the contract's channels. Main checks them again (and validates
// input), so this list is a convenience boundary, not the only one.
const bridge: EdgefleetBridge = {
  transport: 'electron',
  invoke(channel, input) {
    if (!isRequestChannel(channel)) {
      return Promise.resolve({
        ok: false,
        error: { code: 'ipc/unknown-channel', message: `no such channel: ${String(channel).slice(0, 80)}` },
      });
    }
    return ipcRenderer.invoke(channel, input);
  },
  on(channel, callback) {
    if (!EVENT_CHANNELS.includes(channel as EventChannel)) {
      throw new Error(`no such event channel: ${String(channel).slice(0, 80)}`);
    }
    // The IpcRendererEvent (with its sender) never reaches the page.
    const listener = (_event: unknown, payload: unknown) => callback(payload as never);
    ipcRenderer.on(channel, listener);
    return () => {
      ipcRenderer.removeListener(channel, listener);
    };
  },
};

contextBridge.exposeInMainWorld('edgefleet', bridge);
