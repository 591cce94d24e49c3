import { describe, expect, it } from 'vitest';
import { parseRef } from './refs.ts';
import { type KeychainApi, Vault } from './vault.ts';

function fakeKeychain(): KeychainApi & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    async getPassword(s, a) {
      return data.get(`${s}|${a}`) ?? null;
    },
    async setPassword(s, a, p) {
      data.set(`${s}|${a}`, p);
    },
    async deletePassword(s, a) {
      return data.delete(`${s}|${a}`);
    },
    async findCredentials(s) {
      return [...data]
        .filter(([k]) => k.startsWith(`${s}|`))
        .map(([k, password]) => ({ account: k.split('|')[1] as string, password }));
    },
  };
}

describe('Vault', () => {
  it('stores under service EdgeFleet and hands out vault: refs', async () => {
    const kc = fakeKeychain();
    const vault = await Vault.open({ loadKeychain: async () => kc });
    const ref = await vault.put('kube-token', 'src1.u0', 'tok-123456');
    expect(ref).toBe('vault:kube-token/src1.u0');
    expect(kc.data.get('EdgeFleet|kube-token/src1.u0')).toBe('tok-123456');
    expect(await vault.get(ref)).toBe('tok-123456');
    expect(vault.status()).toMatchObject({ backend: 'keychain', entries: 1 });
    await vault.delete(ref);
    await expect(vault.get(ref)).rejects.toMatchObject({ code: 'vault/missing' });
  });

  it('without a keychain refuses to store, explains the fix, and keeps secrets in memory only after consent', async () => {
    const vault = await Vault.open({
      loadKeychain: async () => {
        throw new Error('Cannot autolaunch D-Bus without X11 $DISPLAY');
      },
    });
    const s = vault.status();
    expect(s.backend).toBe('unavailable');
    expect(s.detail).toContain('Cannot autolaunch D-Bus');
    expect(s.fix).toMatch(/Secret Service|keychain/);
    await expect(vault.put('ssh-password', 'h1', 'hunter2-password')).rejects.toMatchObject({
      code: 'vault/no-keychain',
    });
    expect(vault.useSessionMemory().backend).toBe('session-memory');
    const ref = await vault.put('ssh-password', 'h1', 'hunter2-password');
    expect(await vault.get(ref)).toBe('hunter2-password');
  });

  it('treats a keychain that hangs (locked, prompting) as unavailable', async () => {
    const hanging = { ...fakeKeychain(), findCredentials: () => new Promise<never>(() => {}) };
    const vault = await Vault.open({ loadKeychain: async () => hanging, probeTimeoutMs: 50 });
    expect(vault.status().backend).toBe('unavailable');
  });

  it('redacts every secret it handled, including lines of a PEM key', async () => {
    const vault = await Vault.open({ loadKeychain: async () => fakeKeychain() });
    const pem =
      '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIAbcdefghijklmnopqrstuvwxyz0123456789ABCD\n-----END EC PRIVATE KEY-----\n';
    await vault.put('ssh-private-key', 'k', pem);
    const line = 'MHcCAQEEIAbcdefghijklmnopqrstuvwxyz0123456789ABCD';
    expect(vault.redact(`key was ${pem}`)).not.toContain(line);
    expect(vault.redact(`fragment: ${line}`)).not.toContain(line);
  });

  it('parses only well-formed refs', () => {
    expect(parseRef('vault:kube-token/a.b')).toMatchObject({ kind: 'kube-token', id: 'a.b' });
    expect(parseRef('vault:nope/a')).toBeNull();
    expect(parseRef('vault:kube-token/a b')).toBeNull();
    expect(parseRef('plain')).toBeNull();
  });
});
