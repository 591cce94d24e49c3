import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SettingsStore } from '../settings/store.ts';
import { type KeychainApi, Vault } from '../vault/vault.ts';
import { ClusterSources } from './sources.ts';

function memoryKeychain(): KeychainApi {
  const data = new Map<string, string>();
  return {
    getPassword: async (s, a) => data.get(`${s}|${a}`) ?? null,
    setPassword: async (s, a, p) => void data.set(`${s}|${a}`, p),
    deletePassword: async (s, a) => data.delete(`${s}|${a}`),
    findCredentials: async () => [],
  };
}

function kubeconfig(server: string, token: string, extraUser = ''): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: main
  cluster: { server: "${server}" }
users:
- name: admin
  user: { token: "${token}" }${extraUser}
contexts:
- name: admin@main
  context: { cluster: main, user: admin }
current-context: admin@main
`;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ef-sources-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function setup(kubeconfigEnv?: string) {
  const vault = await Vault.open({ loadKeychain: async () => memoryKeychain() });
  const settings = new SettingsStore(join(dir, 'config', 'settings.json'));
  const sources = new ClusterSources({
    vault,
    settings,
    home: join(dir, 'home'),
    kubeconfigEnv,
    loginPath: async () => '/login/bin:/usr/bin',
  });
  return { vault, settings, sources };
}

describe('ClusterSources', () => {
  it('keeps same-named contexts and users of two files apart: one KubeConfig per source', async () => {
    await mkdir(join(dir, 'home', '.kube'), { recursive: true });
    await writeFile(
      join(dir, 'home', '.kube', 'config'),
      kubeconfig('https://127.0.0.1:1111', 'token-of-default'),
    );
    const other = join(dir, 'other.yaml');
    await writeFile(other, kubeconfig('https://127.0.0.2:2222', 'token-of-other'));
    const { sources } = await setup(`${other}:${join(dir, 'missing.yaml')}`);

    const list = await sources.list();
    expect(list.map((s) => s.kind)).toEqual(['default', 'env', 'env']);
    const [def, env, missing] = list;
    expect(def?.contexts[0]?.clusterId).toBe('default/admin@main');
    expect(env?.contexts[0]?.clusterId).toMatch(/^env-[0-9a-f]{8}\/admin@main$/);
    expect(missing?.error?.code).toBe('kubeconfig/not-found');
    expect(missing?.error?.message).toContain('missing.yaml');

    const a = await sources.kubeConfigFor('default/admin@main');
    const b = await sources.kubeConfigFor(env?.contexts[0]?.clusterId as string);
    expect(a.getCurrentCluster()?.server).toBe('https://127.0.0.1:1111');
    expect(a.getCurrentUser()?.token).toBe('token-of-default');
    expect(b.getCurrentCluster()?.server).toBe('https://127.0.0.2:2222');
    expect(b.getCurrentUser()?.token).toBe('token-of-other');
  });

  it('reports a malformed detected file with its path instead of failing the whole list', async () => {
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, 'clusters: [');
    const { sources } = await setup(broken);
    const [s] = await sources.list();
    expect(s?.error?.code).toBe('kubeconfig/invalid');
    expect(s?.error?.message).toContain(broken);
  });

  it('imports: credentials go to the vault, settings hold refs only, the source connects with them', async () => {
    const file = join(dir, 'import.yaml');
    const key = Buffer.from(
      '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIimportedkeyimportedkeyimportedkey\n-----END EC PRIVATE KEY-----\n',
    ).toString('base64');
    const certUser = `\n- name: cert\n  user: { client-certificate-data: "Y2VydA==", client-key-data: "${key}" }`;
    await writeFile(file, kubeconfig('https://127.0.0.3:3333', 'imported-token-value', certUser));
    const { sources, settings, vault } = await setup(undefined);
    const info = await sources.importFile(file, 'site A');
    expect(info.kind).toBe('imported');
    expect(info.readOnly).toBe(false);

    const onDisk = await readFile(settings.path, 'utf8');
    expect(onDisk).not.toContain('imported-token-value');
    expect(onDisk).not.toContain(key);
    expect(onDisk).toMatch(/"tokenRef": "vault:kube-token\/imported-[0-9a-f]+\.u0"/);
    expect(vault.status().entries).toBe(2);

    const kc = await sources.kubeConfigFor(info.contexts[0]?.clusterId as string);
    expect(kc.getCurrentUser()?.token).toBe('imported-token-value');
    expect(kc.getUser('cert')?.keyData).toBe(key);

    await sources.remove(info.id);
    expect(vault.status().entries).toBe(0);
    expect((await sources.list()).filter((s) => s.kind === 'imported')).toEqual([]);
    expect(await readdir(join(dir, 'config'))).toEqual(['settings.json']);
  });

  it('refuses to remove a detected (read-only) source', async () => {
    const { sources } = await setup(undefined);
    await expect(sources.remove('default')).rejects.toMatchObject({ code: 'clusters/read-only-source' });
  });

  it('gives exec credential plugins the login shell PATH unless the kubeconfig sets one', async () => {
    const file = join(dir, 'exec.yaml');
    await writeFile(
      file,
      `clusters:\n- name: c\n  cluster: {server: "https://127.0.0.1:1"}\nusers:\n- name: e\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: plug}\n- name: f\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: plug, env: [{name: PATH, value: /mine}]}\ncontexts:\n- name: e\n  context: {cluster: c, user: e}\n- name: f\n  context: {cluster: c, user: f}\n`,
    );
    const { sources } = await setup(file);
    const [src] = await sources.list();
    const e = await sources.kubeConfigFor(`${src?.id}/e`);
    const f = await sources.kubeConfigFor(`${src?.id}/f`);
    expect(e.getCurrentUser()?.exec.env).toEqual([{ name: 'PATH', value: '/login/bin:/usr/bin' }]);
    expect(f.getCurrentUser()?.exec.env).toEqual([{ name: 'PATH', value: '/mine' }]);
  });

  it('settings refuse to write anything that looks like a secret', async () => {
    const { settings } = await setup(undefined);
    await expect(
      settings.update((s) => {
        s.importedSources.push({
          id: 'x',
          name: 'x',
          importedFrom: '/x',
          importedAt: '',
          kubeconfig: { clusters: [], contexts: [], users: [{ name: 'u', token: 'plain' } as never] },
        });
      }),
    ).rejects.toMatchObject({ code: 'settings/secret-refused' });
  });
});
