import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { HubTlsConfig } from '../api/hub-config.ts';
import type { Logger } from './log.ts';
import type { UpstreamCredentials } from './upstream.ts';

/** The node certificate files are missing or unusable; says which file and what to do. */
export class CertificateError extends Error {
  constructor(path: string, problem: string) {
    super(
      `hub certificate ${path}: ${problem} (provisioning writes it; re-run "convert" for this node or fix the path in hub config)`,
    );
    this.name = 'CertificateError';
  }
}

async function readPem(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new CertificateError(path, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
  }
}

/**
 * Loads the node's client certificate and notices when it is replaced on disk (rotation by
 * kubelet-style tooling or the app), handing new credentials to the upstream without a restart.
 */
export class CertManager {
  private readonly tls: HubTlsConfig;
  private readonly log: Logger;
  private mtimes = '';
  private timer: NodeJS.Timeout | undefined;
  notAfter = 0;
  subject = '';

  constructor(tls: HubTlsConfig, log: Logger) {
    this.tls = tls;
    this.log = log;
  }

  async load(): Promise<UpstreamCredentials> {
    const [ca, cert, key] = await Promise.all([
      readPem(this.tls.caFile),
      readPem(this.tls.certFile),
      readPem(this.tls.keyFile),
    ]);
    let x: X509Certificate;
    try {
      x = new X509Certificate(cert);
    } catch (err) {
      throw new CertificateError(this.tls.certFile, `not a PEM certificate: ${(err as Error).message}`);
    }
    this.notAfter = Date.parse(x.validTo);
    this.subject = x.subject.replace(/\n/g, ',');
    if (this.notAfter < Date.now()) throw new CertificateError(this.tls.certFile, `expired at ${x.validTo}`);
    this.mtimes = await this.fingerprint();
    return { ca, cert, key };
  }

  private async fingerprint(): Promise<string> {
    const s = await Promise.all(
      [this.tls.caFile, this.tls.certFile, this.tls.keyFile].map((p) => stat(p).catch(() => undefined)),
    );
    return s.map((x) => `${x?.mtimeMs ?? 0}:${x?.size ?? 0}`).join('|');
  }

  /** Polls the files; calls `onChange` with new credentials after they change and load cleanly. */
  watch(intervalMs: number, onChange: (c: UpstreamCredentials) => void): void {
    this.timer = setInterval(async () => {
      const fp = await this.fingerprint();
      if (fp === this.mtimes) return;
      try {
        const creds = await this.load();
        this.log.info('cert.reloaded', {
          subject: this.subject,
          notAfter: new Date(this.notAfter).toISOString(),
        });
        onChange(creds);
      } catch (err) {
        this.mtimes = fp;
        this.log.error('cert.reload_failed', { error: (err as Error).message });
      }
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
