/**
 * Where cluster credentials come from. Detected sources (~/.kube/config and every file in
 * $KUBECONFIG) are read-only and re-read on demand; imported sources are copied into settings
 * with their secrets moved to the vault. Each source yields its own KubeConfig.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { type Cluster, KubeConfig, type User } from '@kubernetes/client-node';
import { AppError } from '../ipc/errors.ts';
import type { ClusterSourceInfo, ClusterSourceKind } from '../ipc/types.ts';
import type { ImportedSource, SettingsStore, StoredKubeconfig, StoredUser } from '../settings/index.ts';
import type { SecretKind, VaultRef } from '../vault/refs.ts';
import type { Vault } from '../vault/vault.ts';
import { describeContexts, parseKubeconfig, splitClusterId } from './kubeconfig.ts';
import { loginShellPath } from './login-path.ts';

export interface ClusterSourcesOptions {
  vault: Vault;
  settings: SettingsStore;
  home?: string;
  /** $KUBECONFIG as the app saw it at start (default: process.env.KUBECONFIG). */
  kubeconfigEnv?: string | undefined;
  loginPath?: () => Promise<string>;
  /** The demo fleet's kubeconfig while it runs (listed as source `demo`), else undefined. */
  demoKubeconfig?: () => string | undefined;
}

interface DetectedSource {
  id: string;
  kind: Exclude<ClusterSourceKind, 'imported'>;
  path: string;
}

const AUTH_PROVIDER_SECRET_KEYS = /^(id-token|refresh-token|access-token|client-secret)$/;

export class ClusterSources {
  private readonly vault: Vault;
  private readonly settings: SettingsStore;
  private readonly home: string;
  private readonly kubeconfigEnv: string | undefined;
  private readonly loginPath: () => Promise<string>;
  private readonly demoKubeconfig: () => string | undefined;

  constructor(options: ClusterSourcesOptions) {
    this.vault = options.vault;
    this.settings = options.settings;
    this.home = options.home ?? homedir();
    this.kubeconfigEnv = 'kubeconfigEnv' in options ? options.kubeconfigEnv : process.env.KUBECONFIG;
    this.loginPath = options.loginPath ?? loginShellPath;
    this.demoKubeconfig = options.demoKubeconfig ?? (() => undefined);
  }

  detected(): DetectedSource[] {
    const out: DetectedSource[] = [];
    const defaultPath = join(this.home, '.kube', 'config');
    out.push({ id: 'default', kind: 'default', path: defaultPath });
    const seen = new Set([defaultPath]);
    for (const p of (this.kubeconfigEnv ?? '').split(delimiter)) {
      if (!p) continue;
      const abs = resolve(p);
      if (seen.has(abs)) continue;
      seen.add(abs);
      out.push({
        id: `env-${createHash('sha256').update(abs).digest('hex').slice(0, 8)}`,
        kind: 'env',
        path: abs,
      });
    }
    const demo = this.demoKubeconfig();
    if (demo) out.push({ id: 'demo', kind: 'demo', path: demo });
    return out;
  }

  async list(): Promise<ClusterSourceInfo[]> {
    const out: ClusterSourceInfo[] = [];
    for (const d of this.detected()) {
      try {
        const kc = await readKubeconfigFile(d.path);
        out.push(info(d.id, d.kind, d.path, true, kc));
      } catch (e) {
        // A missing ~/.kube/config is normal; a missing $KUBECONFIG entry is worth showing.
        if (d.kind === 'default' && e instanceof AppError && e.code === 'kubeconfig/not-found') continue;
        out.push({ id: d.id, kind: d.kind, path: d.path, readOnly: true, contexts: [], error: toIpc(e) });
      }
    }
    const settings = await this.settings.load();
    for (const s of settings.importedSources) {
      out.push(info(s.id, 'imported', s.importedFrom, false, storedToKubeConfig(s.kubeconfig, null)));
    }
    return out;
  }

  /** Copies a kubeconfig into the app; its secrets go to the vault, everything else to settings. */
  async importFile(path: string, name?: string): Promise<ClusterSourceInfo> {
    const abs = resolve(path);
    const kc = await readKubeconfigFile(abs);
    const id = `imported-${randomBytes(4).toString('hex')}`;
    const refs: VaultRef[] = [];
    const put = async (kind: SecretKind, key: string, secret: string): Promise<VaultRef> => {
      const ref = await this.vault.put(kind, `${id}.${key}`, secret);
      refs.push(ref);
      return ref;
    };
    try {
      const users: StoredUser[] = [];
      for (const [i, u] of kc.getUsers().entries()) {
        const stored: StoredUser = { name: u.name };
        const certData =
          u.certData ??
          (u.certFile ? await readBase64(u.certFile, abs, `user ${u.name} client-certificate`) : undefined);
        if (certData) stored.certData = certData;
        const keyData =
          u.keyData ??
          (u.keyFile ? await readBase64(u.keyFile, abs, `user ${u.name} client-key`) : undefined);
        if (keyData) stored.keyDataRef = await put('kube-client-key', `u${i}`, keyData);
        if (u.token) stored.tokenRef = await put('kube-token', `u${i}`, u.token);
        if (u.username) stored.username = u.username;
        if (u.password) stored.passwordRef = await put('kube-password', `u${i}`, u.password);
        if (u.exec) stored.exec = u.exec;
        if (u.impersonateUser) stored.impersonateUser = u.impersonateUser;
        if (u.authProvider) {
          const config: Record<string, string> = {};
          for (const [k, v] of Object.entries((u.authProvider.config ?? {}) as Record<string, string>)) {
            config[k] = AUTH_PROVIDER_SECRET_KEYS.test(k) ? await put('kube-token', `u${i}.ap.${k}`, v) : v;
          }
          stored.authProvider = { name: String(u.authProvider.name), config };
        }
        users.push(stored);
      }
      const clusters: Cluster[] = [];
      for (const c of kc.getClusters()) {
        // Imports must not depend on files that may move: inline the CA.
        const { caFile, ...rest } = c;
        clusters.push(
          caFile && !c.caData
            ? { ...rest, caData: await readBase64(caFile, abs, `cluster ${c.name} certificate-authority`) }
            : rest,
        );
      }
      const kubeconfig: StoredKubeconfig = { clusters, contexts: kc.getContexts(), users };
      if (kc.getCurrentContext()) kubeconfig.currentContext = kc.getCurrentContext();
      const source: ImportedSource = {
        id,
        name: name ?? abs,
        importedFrom: abs,
        importedAt: new Date().toISOString(),
        kubeconfig,
      };
      await this.settings.update((s) => {
        s.importedSources.push(source);
      });
      return info(id, 'imported', abs, false, storedToKubeConfig(kubeconfig, null));
    } catch (e) {
      // Leave nothing half-imported in the keychain.
      for (const ref of refs) await this.vault.delete(ref).catch(() => undefined);
      throw e;
    }
  }

  async remove(sourceId: string): Promise<void> {
    const settings = await this.settings.load();
    const source = settings.importedSources.find((s) => s.id === sourceId);
    if (!source) {
      const detected = this.detected().some((d) => d.id === sourceId);
      throw new AppError(
        detected ? 'clusters/read-only-source' : 'clusters/no-such-source',
        detected
          ? `Source ${sourceId} is a detected kubeconfig; EdgeFleet never changes it.`
          : `No imported source ${sourceId}.`,
        detected ? 'Edit the file itself or unset it from $KUBECONFIG.' : undefined,
      );
    }
    await this.settings.update((s) => {
      s.importedSources = s.importedSources.filter((x) => x.id !== sourceId);
    });
    for (const ref of refsIn(source.kubeconfig)) await this.vault.delete(ref);
  }

  /** A fresh KubeConfig for one context of one source: secrets loaded, exec plugins given the login PATH. */
  async kubeConfigFor(id: string): Promise<KubeConfig> {
    const parts = splitClusterId(id);
    if (!parts) throw new AppError('clusters/bad-id', `Not a cluster id: ${id}`);
    let kc: KubeConfig;
    const detected = this.detected().find((d) => d.id === parts.sourceId);
    if (detected) {
      kc = await readKubeconfigFile(detected.path);
    } else {
      const source = (await this.settings.load()).importedSources.find((s) => s.id === parts.sourceId);
      if (!source)
        throw new AppError('clusters/no-such-source', `No cluster source ${parts.sourceId} (from ${id}).`);
      kc = storedToKubeConfig(source.kubeconfig, await this.loadSecrets(source.kubeconfig));
    }
    if (!kc.getContextObject(parts.context)) {
      throw new AppError(
        'clusters/no-such-context',
        `Source ${parts.sourceId} has no context ${JSON.stringify(parts.context)}.`,
      );
    }
    kc.setCurrentContext(parts.context);
    const path = await this.loginPath();
    kc.users = kc.users.map((u) => withExecPath(u, path));
    return kc;
  }

  private async loadSecrets(k: StoredKubeconfig): Promise<Map<string, string>> {
    const secrets = new Map<string, string>();
    for (const ref of refsIn(k)) secrets.set(ref, await this.vault.get(ref));
    return secrets;
  }
}

function toIpc(e: unknown) {
  return e instanceof AppError
    ? e.toIpc()
    : { code: 'kubeconfig/unreadable', message: String((e as Error)?.message ?? e) };
}

async function readKubeconfigFile(path: string): Promise<KubeConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new AppError(
      code === 'ENOENT' ? 'kubeconfig/not-found' : 'kubeconfig/unreadable',
      `Cannot read kubeconfig ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
      code === 'ENOENT' ? 'Check the path (and $KUBECONFIG).' : 'Check the file permissions.',
    );
  }
  return parseKubeconfig(text, path);
}

async function readBase64(file: string, kubeconfigPath: string, what: string): Promise<string> {
  try {
    return (await readFile(file)).toString('base64');
  } catch (e) {
    throw new AppError(
      'kubeconfig/unreadable',
      `Kubeconfig ${kubeconfigPath}: cannot read ${what} file ${file}: ${(e as Error).message}`,
      'Make sure the referenced file exists and is readable, or inline it as *-data.',
    );
  }
}

function refsIn(k: StoredKubeconfig): VaultRef[] {
  const out: VaultRef[] = [];
  for (const u of k.users) {
    if (u.keyDataRef) out.push(u.keyDataRef);
    if (u.tokenRef) out.push(u.tokenRef);
    if (u.passwordRef) out.push(u.passwordRef);
    for (const v of Object.values(u.authProvider?.config ?? {}))
      if (v.startsWith('vault:')) out.push(v as VaultRef);
  }
  return out;
}

/** With `secrets` null the users carry no credentials: enough to describe, not to connect. */
function storedToKubeConfig(k: StoredKubeconfig, secrets: Map<string, string> | null): KubeConfig {
  const reveal = (ref: VaultRef | undefined) => (ref && secrets ? secrets.get(ref) : undefined);
  const users: User[] = k.users.map((s) => {
    const u: Record<string, unknown> = { name: s.name };
    if (s.certData) u.certData = s.certData;
    if (s.keyDataRef) u.keyData = reveal(s.keyDataRef);
    if (s.tokenRef) u.token = secrets ? reveal(s.tokenRef) : 'vault';
    if (s.username) u.username = s.username;
    if (s.passwordRef) u.password = reveal(s.passwordRef);
    if (s.exec) u.exec = s.exec;
    if (s.impersonateUser) u.impersonateUser = s.impersonateUser;
    if (s.authProvider) {
      const config: Record<string, string> = {};
      for (const [key, v] of Object.entries(s.authProvider.config ?? {})) {
        config[key] = v.startsWith('vault:') ? (reveal(v as VaultRef) ?? '') : v;
      }
      u.authProvider = { name: s.authProvider.name, config };
    }
    return u as unknown as User;
  });
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: k.clusters, contexts: k.contexts, users, currentContext: k.currentContext });
  return kc;
}

function withExecPath(u: User, path: string): User {
  if (!u.exec) return u;
  const exec = u.exec as { env?: { name: string; value: string }[] | null };
  const env = exec.env ?? [];
  if (env.some((e) => e.name === 'PATH')) return u;
  return { ...u, exec: { ...exec, env: [...env, { name: 'PATH', value: path }] } };
}

function info(
  id: string,
  kind: ClusterSourceKind,
  path: string,
  readOnly: boolean,
  kc: KubeConfig,
): ClusterSourceInfo {
  const out: ClusterSourceInfo = { id, kind, path, readOnly, contexts: describeContexts(kc, id) };
  if (kc.getCurrentContext()) out.currentContext = kc.getCurrentContext();
  return out;
}
