/** The vault part of the IPC surface. */
import type { IpcHandlers } from '../ipc/router.ts';
import type { Vault } from './vault.ts';

export function vaultHandlers(vault: Vault): Pick<IpcHandlers, 'vault:status' | 'vault:useSessionMemory'> {
  return {
    'vault:status': () => vault.status(),
    'vault:useSessionMemory': () => vault.useSessionMemory(),
  };
}
