/**
 * The app's cluster sources as lab tests use them: settings and HOME under the test's directory, a
 * vault in session memory (no keychain here: the vault has its own lab test).
 */
import { join } from 'node:path';
import { ClusterSources } from '../../src-main/clusters/sources.ts';
import { SettingsStore } from '../../src-main/settings/store.ts';
import { Vault } from '../../src-main/vault/vault.ts';

export async function sessionClusterSources(dir: string, kubeconfigEnv?: string): Promise<ClusterSources> {
  const vault = await Vault.open({
    loadKeychain: async () => {
      throw new Error('not used in this test');
    },
  });
  // biome-ignore lint/correctness/useHookAtTopLevel: a Vault method named like a hook, not React.
  vault.useSessionMemory();
  return new ClusterSources({
    vault,
    settings: new SettingsStore(join(dir, 'config', 'settings.json')),
    home: join(dir, 'home'),
    kubeconfigEnv,
  });
}
