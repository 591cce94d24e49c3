import type { EdgefleetBridge } from '../../src-main/ipc/bridge.ts';
import { electronTransport } from './electron-transport.ts';
import type { Transport } from './transport.ts';
import { wsTransport } from './ws-transport.ts';

export * from './transport.ts';

const TOKEN_KEY = 'edgefleet.token';

/**
 * Electron's preload sets `window.edgefleet`; in a plain browser the browser host put its token
 * in the URL fragment (never sent to a server). It is moved to sessionStorage and removed from
 * the address bar so it is not copied along with the URL, and a reload of this tab still works.
 */
export function connectTransport(): Transport {
  const bridge = (window as { edgefleet?: EdgefleetBridge }).edgefleet;
  if (bridge?.transport === 'electron') return electronTransport(bridge);
  const fromHash = new URLSearchParams(window.location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', window.location.pathname);
  }
  const token = fromHash ?? sessionStorage.getItem(TOKEN_KEY) ?? '';
  return wsTransport({ host: window.location.host, token });
}
