import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { sh } from './sh.ts';

/** The lab's SSH client key: one ed25519 pair per lab, authorized for root on every lab host. */
export interface LabKey {
  /** OpenSSH private key file (mode 0600), for `ssh -i` by people. */
  privateKeyPath: string;
  /** The private key text, as ssh2's `privateKey` option takes it. */
  privateKey: string;
  /** One `ssh-ed25519 AAAA… comment` line, as authorized_keys takes it. */
  publicKey: string;
}

/** Returns the lab's key under labDir/ssh, generating it with ssh-keygen the first time. */
export async function ensureLabKey(labDir: string): Promise<LabKey> {
  const dir = path.join(labDir, 'ssh');
  const privateKeyPath = path.join(dir, 'id_ed25519');
  if (!existsSync(privateKeyPath)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'edgefleet-lab', '-f', privateKeyPath]);
    } catch (err) {
      throw new Error(
        `could not generate the lab SSH key with ssh-keygen (install it with \`apt-get install openssh-client\`): ${String(err)}`,
      );
    }
  }
  const [privateKey, publicKey] = await Promise.all([
    readFile(privateKeyPath, 'utf8'),
    readFile(`${privateKeyPath}.pub`, 'utf8'),
  ]);
  return { privateKeyPath, privateKey, publicKey: publicKey.trim() };
}

/**
 * The "SHA256:…" fingerprint of an OpenSSH public key line, the same text `ssh-keygen -l`
 * prints and ssh2's hostVerifier can compare against (sha256 of the key blob, base64, no padding).
 */
export function fingerprintOfPublicKey(line: string): string {
  const blob = line.trim().split(/\s+/)[1];
  if (!blob) throw new Error(`not an OpenSSH public key line: "${line.slice(0, 40)}"`);
  return fingerprintOfKeyBlob(Buffer.from(blob, 'base64'));
}

export function fingerprintOfKeyBlob(blob: Buffer): string {
  const digest = createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
  return `SHA256:${digest}`;
}
