import { randomBytes, X509Certificate } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as https from 'node:https';
import { dirname, join } from 'node:path';
import type { HubConfig } from '../api/hub-config.ts';
import { type AltNames, createCsr, newNodeKey } from './csr.ts';
import type { Logger } from './log.ts';

/** Getting a certificate from the cluster failed; says at which step and what to check. */
export class BootstrapError extends Error {
  constructor(step: string, message: string, hint: string) {
    super(`certificate ${step}: ${message} (${hint})`);
    this.name = 'BootstrapError';
  }
}

type Auth = { token: string } | { cert: Buffer; key: Buffer };

export interface CertificateRequest {
  server: string;
  ca: Buffer;
  auth: Auth;
  signerName: string;
  cn: string;
  orgs: string[];
  usages: string[];
  alt?: AltNames;
  timeoutMs?: number;
  log: Logger;
}

/** Rotate when this share of the certificate's lifetime has passed (as kubelet does, roughly). */
export const ROTATE_AT = 0.8;

function call(
  r: Pick<CertificateRequest, 'server' | 'ca' | 'auth'>,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const u = new URL(r.server);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string | number> = {
    accept: 'application/json',
    'user-agent': 'edgefleet-hub',
  };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = payload.length;
  }
  if ('token' in r.auth) headers.authorization = `Bearer ${r.auth.token}`;
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path,
        headers,
        ca: r.ca,
        ...('cert' in r.auth ? { cert: r.auth.cert, key: r.auth.key } : {}),
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            // leave empty; status tells the story
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer in 15 s')));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Creates a CertificateSigningRequest, waits until it is approved and issued, and returns the PEM
 * certificate and its new private key. Approval is the cluster's job (kube-controller-manager approves
 * node client CSRs from bootstrap tokens and nodes renewing their own).
 */
export async function requestCertificate(
  r: CertificateRequest,
): Promise<{ certPem: string; keyPem: string }> {
  const key = newNodeKey();
  const csr = createCsr(key.privateKey, r.cn, r.orgs, r.alt);
  const created = await call(r, 'POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { generateName: 'edgefleet-hub-' },
    spec: { request: Buffer.from(csr).toString('base64'), signerName: r.signerName, usages: r.usages },
  }).catch((err: Error) => {
    throw new BootstrapError('request', err.message, `is ${r.server} reachable?`);
  });
  if (created.status !== 201) {
    throw new BootstrapError(
      'request',
      `API server answered ${created.status}: ${String(created.body.message ?? '')}`,
      'check the bootstrap token is valid and bound to system:node-bootstrapper',
    );
  }
  const name = String((created.body.metadata as { name?: string } | undefined)?.name ?? '');
  r.log.info('cert.csr_created', { csr: name, signer: r.signerName, cn: r.cn });
  const deadline = Date.now() + (r.timeoutMs ?? 300_000);
  while (Date.now() < deadline) {
    const got = await call(r, 'GET', `/apis/certificates.k8s.io/v1/certificatesigningrequests/${name}`).catch(
      () => undefined,
    );
    const status = got?.body.status as
      | { certificate?: string; conditions?: { type: string; message?: string }[] }
      | undefined;
    const bad = status?.conditions?.find((c) => c.type === 'Denied' || c.type === 'Failed');
    if (bad)
      throw new BootstrapError(
        'approval',
        `CSR ${name} ${bad.type}: ${bad.message ?? ''}`,
        'see kubectl describe csr',
      );
    if (status?.certificate)
      return { certPem: Buffer.from(status.certificate, 'base64').toString('utf8'), keyPem: key.pem };
    await new Promise((res) => setTimeout(res, 1000));
  }
  throw new BootstrapError(
    'approval',
    `CSR ${name} was not issued in time`,
    `approve it with: kubectl certificate approve ${name}`,
  );
}

async function writeSecret(path: string, data: string): Promise<void> {
  await fsp.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(path), `.tmp-${randomBytes(6).toString('hex')}`);
  const fh = await fsp.open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, path);
}

/** Writes key then certificate (both 0600, atomically) so a reader never pairs a new cert with an old key for long. */
export async function writeCertPair(
  certFile: string,
  keyFile: string,
  certPem: string,
  keyPem: string,
): Promise<void> {
  await writeSecret(keyFile, keyPem);
  await writeSecret(certFile, certPem);
}

/** When a certificate should be rotated (80% of its lifetime), or undefined if it cannot be read. */
export async function rotationDue(certFile: string): Promise<{ at: number; notAfter: number } | undefined> {
  try {
    const x = new X509Certificate(await fsp.readFile(certFile));
    const from = Date.parse(x.validFrom);
    const to = Date.parse(x.validTo);
    return { at: from + (to - from) * ROTATE_AT, notAfter: to };
  } catch {
    return undefined;
  }
}

/**
 * Makes sure the node has a client certificate: with none (or an expired one) it bootstraps with the
 * token; past 80% of its lifetime it renews with the current certificate. Returns what it did.
 */
export async function ensureClientCert(
  config: HubConfig,
  log: Logger,
  now = Date.now(),
): Promise<'present' | 'bootstrapped' | 'renewed'> {
  const due = await rotationDue(config.tls.certFile);
  if (due && now < due.at) return 'present';
  const ca = await fsp.readFile(config.tls.caFile);
  const server = config.servers[0] ?? '';
  const common = {
    server,
    ca,
    signerName: config.bootstrap?.signerName ?? 'kubernetes.io/kube-apiserver-client-kubelet',
    cn: `system:node:${config.nodeName}`,
    orgs: ['system:nodes'],
    usages: ['digital signature', 'client auth'],
    log,
  };
  if (due && now < due.notAfter) {
    const [cert, key] = await Promise.all([
      fsp.readFile(config.tls.certFile),
      fsp.readFile(config.tls.keyFile),
    ]);
    const issued = await requestCertificate({ ...common, auth: { cert, key } });
    await writeCertPair(config.tls.certFile, config.tls.keyFile, issued.certPem, issued.keyPem);
    log.info('cert.renewed', { cn: common.cn });
    return 'renewed';
  }
  if (!config.bootstrap)
    throw new BootstrapError(
      'bootstrap',
      `no valid client certificate at ${config.tls.certFile} and no bootstrap token configured`,
      'set bootstrap.tokenFile in the hub config or provision the certificate',
    );
  const token = (await fsp.readFile(config.bootstrap.tokenFile, 'utf8')).trim();
  const issued = await requestCertificate({ ...common, auth: { token } });
  await writeCertPair(config.tls.certFile, config.tls.keyFile, issued.certPem, issued.keyPem);
  log.info('cert.bootstrapped', { cn: common.cn, signer: common.signerName });
  return 'bootstrapped';
}

/** Serving certificate for the secure proxy: files from config, else a kubelet-serving CSR for its addresses. */
export async function ensureServingCert(
  config: HubConfig,
  ips: string[],
  log: Logger,
): Promise<{ cert: Buffer; key: Buffer; certFile: string; keyFile: string }> {
  const certFile = config.secureProxyTls?.certFile ?? join(dirname(config.tls.certFile), 'hub-server.crt');
  const keyFile = config.secureProxyTls?.keyFile ?? join(dirname(config.tls.keyFile), 'hub-server.key');
  const due = await rotationDue(certFile);
  if (!due || Date.now() >= due.at) {
    if (config.secureProxyTls && !due)
      throw new BootstrapError(
        'serving',
        `cannot read ${certFile}`,
        'fix secureProxyTls or remove it to request one',
      );
    const [cert, key, ca] = await Promise.all([
      fsp.readFile(config.tls.certFile),
      fsp.readFile(config.tls.keyFile),
      fsp.readFile(config.tls.caFile),
    ]);
    const issued = await requestCertificate({
      server: config.servers[0] ?? '',
      ca,
      auth: { cert, key },
      signerName: 'kubernetes.io/kubelet-serving',
      cn: `system:node:${config.nodeName}`,
      orgs: ['system:nodes'],
      usages: ['digital signature', 'server auth'],
      alt: { ips, dns: [config.nodeName] },
      log,
    });
    await writeCertPair(certFile, keyFile, issued.certPem, issued.keyPem);
  }
  return { cert: await fsp.readFile(certFile), key: await fsp.readFile(keyFile), certFile, keyFile };
}
