/**
 * Secrets live in the OS keychain through keytar (Secret Service on Linux, Keychain on macOS,
 * Credential Manager on Windows). Settings files hold only `vault:` references.
 *
 * With no keychain the vault never falls back to a file: storing fails with the reason and the
 * fix, until the user explicitly accepts keeping secrets in memory for this session only.
 */
import { AppError } from '../ipc/errors.ts';
import type { VaultStatus } from '../ipc/types.ts';
import { Redactor } from './redactor.ts';
import { makeRef, parseRef, type SecretKind, type VaultRef } from './refs.ts';

export const VAULT_SERVICE = 'EdgeFleet';

/** The part of keytar we use; tests and other platforms can pass their own. */
export interface KeychainApi {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
  findCredentials(service: string): Promise<Array<{ account: string; password: string }>>;
}

export interface VaultOptions {
  service?: string;
  /** Loads the keychain binding; default imports keytar. A throw means "no keychain". */
  loadKeychain?: () => Promise<KeychainApi>;
  /** How long the first keychain call may take before we call it unavailable (a locked keyring can hang). */
  probeTimeoutMs?: number;
  onStatus?: (status: VaultStatus) => void;
}

const NO_KEYCHAIN_FIX =
  process.platform === 'linux'
    ? "No Secret Service found on the session bus: install and unlock gnome-keyring (or enable KeePassXC's Secret Service integration), make sure DBUS_SESSION_BUS_ADDRESS is set, then restart EdgeFleet. Until then you can keep secrets in memory for this session only."
    : 'The OS keychain could not be used: unlock it (or grant EdgeFleet access), then restart EdgeFleet. Until then you can keep secrets in memory for this session only.';

async function loadKeytar(): Promise<KeychainApi> {
  const mod = (await import('keytar')) as unknown as { default?: KeychainApi } & KeychainApi;
  return mod.default ?? mod;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not answer within ${ms} ms (keyring locked?)`)),
      ms,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class Vault {
  readonly redactor = new Redactor();
  private readonly service: string;
  private readonly onStatus: ((s: VaultStatus) => void) | undefined;
  private keychain: KeychainApi | null;
  private backend: VaultStatus['backend'];
  private readonly reason: string;
  private readonly memory = new Map<string, string>();
  private readonly known = new Set<string>();

  private constructor(
    service: string,
    keychain: KeychainApi | null,
    reason: string,
    known: string[],
    onStatus?: (s: VaultStatus) => void,
  ) {
    this.service = service;
    this.keychain = keychain;
    this.backend = keychain ? 'keychain' : 'unavailable';
    this.reason = reason;
    this.onStatus = onStatus;
    for (const k of known) this.known.add(k);
  }

  /** Probes the keychain once; never throws (no keychain is a state, not a crash). */
  static async open(options: VaultOptions = {}): Promise<Vault> {
    const service = options.service ?? VAULT_SERVICE;
    const timeoutMs = options.probeTimeoutMs ?? 5_000;
    try {
      const keychain = await (options.loadKeychain ?? loadKeytar)();
      const creds = await withTimeout(keychain.findCredentials(service), timeoutMs, 'the Secret Service');
      return new Vault(
        service,
        keychain,
        '',
        creds.map((c) => c.account),
        options.onStatus,
      );
    } catch (e) {
      return new Vault(service, null, messageOf(e), [], options.onStatus);
    }
  }

  status(): VaultStatus {
    const entries = this.backend === 'keychain' ? this.known.size : this.memory.size;
    switch (this.backend) {
      case 'keychain':
        return {
          backend: 'keychain',
          detail: `Secrets are stored in the OS keychain (service "${this.service}").`,
          entries,
        };
      case 'unavailable':
        return {
          backend: 'unavailable',
          detail: `No OS keychain is available (${this.reason}). EdgeFleet will not store secrets in plaintext files.`,
          fix: NO_KEYCHAIN_FIX,
          entries,
        };
      case 'session-memory':
        return {
          backend: 'session-memory',
          detail: `No OS keychain is available (${this.reason}). Secrets are kept in memory only and are lost when EdgeFleet exits.`,
          fix: NO_KEYCHAIN_FIX,
          entries,
        };
    }
  }

  /** The user's explicit consent to session-only secrets when there is no keychain. */
  useSessionMemory(): VaultStatus {
    if (this.backend === 'unavailable') {
      this.backend = 'session-memory';
      this.onStatus?.(this.status());
    }
    return this.status();
  }

  async put(kind: SecretKind, id: string, secret: string): Promise<VaultRef> {
    const ref = makeRef(kind, id);
    const account = `${kind}/${id}`;
    if (this.backend === 'unavailable') {
      throw new AppError(
        'vault/no-keychain',
        `Cannot store the ${kind} secret: ${this.status().detail}`,
        NO_KEYCHAIN_FIX,
      );
    }
    this.redactor.remember(secret);
    if (this.backend === 'session-memory' || !this.keychain) {
      this.memory.set(account, secret);
    } else {
      try {
        await this.keychain.setPassword(this.service, account, secret);
      } catch (e) {
        throw this.keychainError(`storing ${ref}`, e);
      }
      this.known.add(account);
    }
    this.onStatus?.(this.status());
    return ref;
  }

  async get(ref: string): Promise<string> {
    const parsed = parseRef(ref);
    if (!parsed)
      throw new AppError('vault/bad-ref', `not a vault reference: ${JSON.stringify(ref.slice(0, 80))}`);
    let value: string | null | undefined;
    if (this.backend === 'keychain' && this.keychain) {
      try {
        value = await this.keychain.getPassword(this.service, parsed.account);
      } catch (e) {
        throw this.keychainError(`reading ${ref}`, e);
      }
    } else {
      value = this.memory.get(parsed.account);
    }
    if (value == null) {
      throw new AppError(
        'vault/missing',
        `The secret ${ref} is not in the ${this.backend === 'keychain' ? 'keychain' : 'session memory'}.`,
        this.backend === 'keychain'
          ? 'It was deleted outside EdgeFleet or the keyring changed; re-import or re-enter it.'
          : 'Session-only secrets are lost when EdgeFleet exits; re-import or re-enter it.',
      );
    }
    this.redactor.remember(value);
    return value;
  }

  async delete(ref: string): Promise<void> {
    const parsed = parseRef(ref);
    if (!parsed)
      throw new AppError('vault/bad-ref', `not a vault reference: ${JSON.stringify(ref.slice(0, 80))}`);
    if (this.backend === 'keychain' && this.keychain) {
      try {
        await this.keychain.deletePassword(this.service, parsed.account);
      } catch (e) {
        throw this.keychainError(`deleting ${ref}`, e);
      }
      this.known.delete(parsed.account);
    } else {
      const old = this.memory.get(parsed.account);
      if (old !== undefined) this.redactor.forget(old);
      this.memory.delete(parsed.account);
    }
    this.onStatus?.(this.status());
  }

  redact(text: string): string {
    return this.redactor.redact(text);
  }

  private keychainError(what: string, e: unknown): AppError {
    return new AppError(
      'vault/keychain-error',
      `The OS keychain failed while ${what}: ${messageOf(e)}`,
      'Unlock the keyring (gnome-keyring / KeePassXC / macOS Keychain) and try again.',
      { cause: e },
    );
  }
}
