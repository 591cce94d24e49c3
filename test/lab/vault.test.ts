/**
 * The vault against a real Secret Service (gnome-keyring on a private D-Bus), and a grep of
 * everything the app wrote (settings, logs) for the secret values.
 */
import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterSources } from '../../src-main/clusters/sources.ts';
import { createIpcRouter, type IpcHandlers } from '../../src-main/ipc/router.ts';
import { SettingsStore } from '../../src-main/settings/store.ts';
import { Vault } from '../../src-main/vault/vault.ts';
import { TestKeyring } from './keyring.ts';

const run = promisify(execFile);
const TOKEN = `tok-${Math.random().toString(36).slice(2)}-secretvalue`;
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-hunter2`;
const KEY_PEM = `-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI${Math.random().toString(36).slice(2)}AAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END EC PRIVATE KEY-----\n`;
const KEY_B64 = Buffer.from(KEY_PEM).toString('base64');

let keyring: TestKeyring | undefined;
let dir: string;
let vault: Vault;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ef-vault-lab-'));
  keyring = await TestKeyring.start();
  vault = await Vault.open();
});

afterAll(async () => {
  try {
    // Leave the (temporary) keyring empty anyway, in case someone points it elsewhere.
    if (vault?.status().backend === 'keychain') {
      const keytar = (await import('keytar')).default;
      for (const c of await keytar.findCredentials('EdgeFleet'))
        await keytar.deletePassword('EdgeFleet', c.account);
    }
  } finally {
    await keyring?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

async function grepTree(root: string, needles: string[]): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const text = await readFile(path, 'latin1');
    for (const n of needles) if (text.includes(n)) hits.push(`${path}: ${n.slice(0, 12)}…`);
  }
  return hits;
}

describe('vault with a real Secret Service', () => {
  it('finds the keychain and round-trips secrets through it', async () => {
    expect(vault.status().backend).toBe('keychain');
    const ref = await vault.put('ssh-password', 'host-a', PASSWORD);
    expect(await vault.get(ref)).toBe(PASSWORD);

    // A second instance (as after an app restart) sees the entry in the Secret Service.
    const again = await Vault.open();
    expect(again.status()).toMatchObject({ backend: 'keychain', entries: 1 });
    expect(await again.get(ref)).toBe(PASSWORD);
    const keytar = (await import('keytar')).default;
    expect(await keytar.getPassword('EdgeFleet', 'ssh-password/host-a')).toBe(PASSWORD);

    await vault.delete(ref);
    await expect(again.get(ref)).rejects.toMatchObject({ code: 'vault/missing' });
  });

  it('an imported kubeconfig leaves no secret in settings files or logs', async () => {
    const file = join(dir, 'site.kubeconfig');
    await writeFile(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'lab', cluster: { server: 'https://127.0.0.1:6443' } }],
        users: [
          { name: 'tok', user: { token: TOKEN } },
          { name: 'cert', user: { 'client-certificate-data': 'Y2VydA==', 'client-key-data': KEY_B64 } },
          { name: 'basic', user: { username: 'me', password: PASSWORD } },
        ],
        contexts: [{ name: 'lab', context: { cluster: 'lab', user: 'tok' } }],
      }),
    );
    const configDir = join(dir, 'config');
    const logFile = join(configDir, 'logs', 'main.log');
    const settings = new SettingsStore(join(configDir, 'settings.json'));
    const sources = new ClusterSources({
      vault,
      settings,
      home: join(dir, 'home'),
      kubeconfigEnv: undefined,
    });

    // The app's log line for every IPC call: channel, input, result — through the vault's redactor.
    const log = async (line: string) => {
      await appendFile(logFile, `${vault.redact(line)}\n`);
    };
    await import('node:fs/promises').then((fs) => fs.mkdir(join(configDir, 'logs'), { recursive: true }));
    const base = {
      'clusters:import': ({ path }: { path: string }) => sources.importFile(path),
      'clusters:listSources': () => sources.list(),
      // A handler whose failure message would carry a secret (e.g. an exec plugin echoing a token).
      'clusters:watch': async ({ clusterId }: { clusterId: string }) => {
        const kc = await sources.kubeConfigFor(clusterId);
        throw new Error(`could not authenticate with token ${kc.getCurrentUser()?.token}`);
      },
    } as unknown as IpcHandlers;
    const router = createIpcRouter(base, { redact: (t) => vault.redact(t) });
    const call = async (channel: string, input: unknown) => {
      const r = await router.handle(channel, input);
      await log(JSON.stringify({ channel, input, r }));
      return r;
    };

    const imported = await call('clusters:import', { path: file });
    expect(imported.ok).toBe(true);
    const id = imported.ok ? (imported.value as { id: string }).id : '';
    expect((await call('clusters:listSources', undefined)).ok).toBe(true);
    const failed = await call('clusters:watch', { clusterId: `${id}/lab` });
    expect(failed.ok).toBe(false);

    // Secrets really are in the keychain…
    const keytar = (await import('keytar')).default;
    const stored = (await keytar.findCredentials('EdgeFleet')).map((c) => c.password);
    expect(stored).toEqual(expect.arrayContaining([TOKEN, KEY_B64, PASSWORD]));
    // …and the settings hold references to them.
    expect(await readFile(settings.path, 'utf8')).toContain(`"tokenRef": "vault:kube-token/${id}.u0"`);

    const keyBody = KEY_PEM.split('\n')[1] as string;
    const hits = await grepTree(configDir, [TOKEN, KEY_B64, PASSWORD, keyBody]);
    expect(hits).toEqual([]);
    // The log is not empty: the grep looked at real output.
    expect((await readFile(logFile, 'utf8')).split('\n').length).toBeGreaterThan(3);

    await sources.remove(id);
    expect((await keytar.findCredentials('EdgeFleet')).length).toBe(0);
  });

  it('with no Secret Service on the bus the app says so, refuses plaintext, and offers session memory', async () => {
    const script = `
      import { Vault } from ${JSON.stringify(join(process.cwd(), 'src-main/vault/vault.ts'))};
      const v = await Vault.open({ probeTimeoutMs: 5000 });
      const before = v.status();
      let refused = null;
      try { await v.put('kube-token', 'x', 'abcdefgh'); } catch (e) { refused = { code: e.code, fix: e.fix }; }
      const after = v.useSessionMemory();
      const ref = await v.put('kube-token', 'x', 'abcdefgh');
      console.log(JSON.stringify({ before, refused, after, readBack: await v.get(ref) }));
    `;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(dir, 'no-such-bus')}`,
    };
    delete env.DISPLAY;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env,
      timeout: 30_000,
    });
    const out = JSON.parse(stdout.trim().split('\n').pop() as string);
    expect(out.before.backend).toBe('unavailable');
    expect(out.before.detail).toMatch(/will not store secrets in plaintext/);
    expect(out.before.fix).toMatch(/No Secret Service found on the session bus/);
    expect(out.refused).toMatchObject({ code: 'vault/no-keychain' });
    expect(out.after.backend).toBe('session-memory');
    expect(out.readBack).toBe('abcdefgh');
  });
});
