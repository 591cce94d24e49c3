/**
 * The on-disk shape of the app's settings. Secrets never appear here: credential fields are
 * replaced by `vault:` references (see src-main/vault/refs.ts), and `findSecretFields` is run
 * before every write as a last line of defence.
 */
import type { Cluster, Context } from '@kubernetes/client-node';
import type { AlertRules } from '../ipc/alerts-types.ts';
import type { VaultRef } from '../vault/refs.ts';

/** A kubeconfig user with its secret fields replaced by vault references. */
export interface StoredUser {
  name: string;
  certData?: string;
  keyDataRef?: VaultRef;
  tokenRef?: VaultRef;
  username?: string;
  passwordRef?: VaultRef;
  /** Exec credential plugin config (command/args/env); not a secret itself. */
  exec?: unknown;
  authProvider?: { name: string; config?: Record<string, string> };
  impersonateUser?: string;
}

export interface StoredKubeconfig {
  clusters: Cluster[];
  contexts: Context[];
  users: StoredUser[];
  currentContext?: string;
}

export interface ImportedSource {
  id: string;
  name: string;
  importedFrom: string;
  importedAt: string;
  kubeconfig: StoredKubeconfig;
}

export interface Settings {
  version: 1;
  importedSources: ImportedSource[];
  /** Alert thresholds per cluster id, where they differ from the defaults (src-main/alerts). */
  alertRules?: Record<string, Partial<AlertRules>>;
}

export function emptySettings(): Settings {
  return { version: 1, importedSources: [] };
}

const SECRET_KEY_NAMES =
  /^(token|password|passphrase|client-key-data|keyData|privateKey|id-token|refresh-token|access-token|secret)$/i;
const PRIVATE_KEY_PEM = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/**
 * Paths (like `importedSources[0].kubeconfig.users[1].token`) holding what looks like a secret.
 * Empty means the object is safe to write.
 */
export function findSecretFields(value: unknown, path = ''): string[] {
  if (typeof value === 'string') {
    if (PRIVATE_KEY_PEM.test(value)) return [path];
    if (/^[A-Za-z0-9+/=\s]{40,}$/.test(value)) {
      // base64 of a PEM private key (kubeconfig *-data fields)
      try {
        if (PRIVATE_KEY_PEM.test(Buffer.from(value, 'base64').toString('latin1'))) return [path];
      } catch {
        // not base64: fine
      }
    }
    return [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => findSecretFields(v, `${path}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    const found: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      const p = path ? `${path}.${k}` : k;
      if (SECRET_KEY_NAMES.test(k) && typeof v === 'string' && v !== '' && !v.startsWith('vault:'))
        found.push(p);
      else found.push(...findSecretFields(v, p));
    }
    return found;
  }
  return [];
}
