/** Shared pieces of the provisioning lab tests and bench: vault, trust, targets, file snapshots. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KnownHosts } from '../../src-main/provision/ssh-known-hosts.ts';
import { type KeychainApi, Vault } from '../../src-main/vault/vault.ts';
import type { LabHost } from './host.ts';
import type { Lab } from './lab.ts';

export function memoryKeychain(): KeychainApi {
  const data = new Map<string, string>();
  return {
    getPassword: async (_s, a) => data.get(a) ?? null,
    setPassword: async (_s, a, p) => void data.set(a, p),
    deletePassword: async (_s, a) => data.delete(a),
    findCredentials: async () => [],
  };
}

export async function provisionKit(lab: Lab) {
  const dir = await mkdtemp(join(tmpdir(), 'ef-provision-'));
  const vault = await Vault.open({ loadKeychain: async () => memoryKeychain() });
  const knownHosts = new KnownHosts(join(dir, 'known-hosts.json'));
  const keyRef = await vault.put('ssh-private-key', 'lab', lab.key.privateKey);
  return { dir, vault, knownHosts, keyRef, stateDir: join(dir, 'runs'), cacheDir: join(dir, 'cache') };
}

/** Paths a conversion may touch; the snapshot is what "byte-identical after revert" is checked on. */
export const WATCHED = [
  '/etc/kubernetes',
  '/etc/systemd/system',
  '/opt',
  '/etc/edgefleet',
  '/var/lib/edgefleet',
  '/usr/local/bin',
];

export async function snapshot(host: LabHost, extraRoots: readonly string[] = []): Promise<string[]> {
  const r = await host.exec(
    `for root in ${[...WATCHED, ...extraRoots].join(' ')}; do [ -e "$root" ] && find "$root" -xdev; done | sort | while read -r p; do
  if [ -L "$p" ]; then echo "L $p -> $(readlink "$p")";
  elif [ -f "$p" ]; then echo "F $(stat -c '%a %U' "$p") $(sha256sum < "$p" | cut -c1-64) $p";
  else echo "D $(stat -c '%a %U' "$p") $p"; fi; done`,
    { timeoutMs: 60_000 },
  );
  if (r.code !== 0) throw new Error(`snapshot of ${host.name} failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}
