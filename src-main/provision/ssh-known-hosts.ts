/**
 * Host keys the user has accepted, by `host:port`. Trust on first use: an unknown key is shown
 * (SHA256 fingerprint) and must be accepted; a changed key is a hard stop, never auto-updated.
 * Public fingerprints only, so a plain JSON file (0600) is fine.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeJsonAtomic } from '../../src-agent/api/atomic-file.ts';

export interface KnownHostKey {
  keyType: string;
  fingerprint: string;
  acceptedAt: string;
}

export type HostKeyVerdict =
  | { status: 'trusted' }
  | { status: 'unknown'; keyType: string; fingerprint: string }
  | { status: 'changed'; keyType: string; fingerprint: string; expected: KnownHostKey };

/** `SHA256:<base64 without padding>` of the key blob, as `ssh-keygen -l` prints it. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type name at the start of an SSH wire-format public key blob. */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return len > 0 && len < 64 && blob.length >= 4 + len
    ? blob.subarray(4, 4 + len).toString('ascii')
    : 'unknown';
}

export function hostId(host: string, port: number): string {
  return `${host.toLowerCase()}:${port}`;
}

export class KnownHosts {
  readonly path: string;
  private entries: Record<string, KnownHostKey> | null = null;

  constructor(path: string) {
    this.path = path;
  }

  private async load(): Promise<Record<string, KnownHostKey>> {
    if (this.entries) return this.entries;
    try {
      this.entries = JSON.parse(await readFile(this.path, 'utf8')) as Record<string, KnownHostKey>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        // A corrupt trust store must not silently turn into "trust anything on first use again".
        throw new Error(
          `cannot read known host keys ${this.path}: ${(e as Error).message}; fix or remove the file`,
        );
      }
      this.entries = {};
    }
    return this.entries;
  }

  async verify(host: string, port: number, blob: Buffer): Promise<HostKeyVerdict> {
    const known = (await this.load())[hostId(host, port)];
    const fingerprint = fingerprintOf(blob);
    const keyType = keyTypeOf(blob);
    if (!known) return { status: 'unknown', keyType, fingerprint };
    if (known.fingerprint === fingerprint) return { status: 'trusted' };
    return { status: 'changed', keyType, fingerprint, expected: known };
  }

  async get(host: string, port: number): Promise<KnownHostKey | undefined> {
    return (await this.load())[hostId(host, port)];
  }

  /** Records the user's acceptance of a fingerprint they were shown. */
  async trust(host: string, port: number, keyType: string, fingerprint: string): Promise<void> {
    const entries = await this.load();
    entries[hostId(host, port)] = { keyType, fingerprint, acceptedAt: new Date().toISOString() };
    await this.save(entries);
  }

  /** Deliberately forgetting a host (e.g. it was reinstalled) is the only way past a changed key. */
  async forget(host: string, port: number): Promise<void> {
    const entries = await this.load();
    delete entries[hostId(host, port)];
    await this.save(entries);
  }

  private async save(entries: Record<string, KnownHostKey>): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await writeJsonAtomic(this.path, entries);
  }
}
