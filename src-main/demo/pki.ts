import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { sh } from './sh.ts';

/** A certificate and its private key on disk (PEM). */
export interface CertPaths {
  cert: string;
  key: string;
}

export interface CertRequest {
  commonName: string;
  /** Subject O= values; Kubernetes reads them as groups (e.g. system:masters, system:nodes). */
  organizations?: readonly string[];
  /** SANs; an entry that parses as an IP becomes IP:, anything else DNS:. */
  altNames?: readonly string[];
  usage: 'client' | 'server' | 'both';
  days?: number;
}

const CURVE = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

// Our own tiny openssl config: the system one would add v3_ca extensions to every `req -x509`.
function opensslConfig(extensions: string[]): string {
  return ['[req]', 'distinguished_name = dn', '[dn]', '[ext]', ...extensions, ''].join('\n');
}

function subject(commonName: string, organizations: readonly string[] = []): string {
  for (const part of [commonName, ...organizations]) {
    if (/[/\\+=\n]/.test(part))
      throw new Error(
        `certificate subject part ${JSON.stringify(part)} has a character openssl -subj cannot take`,
      );
  }
  return `${organizations.map((o) => `/O=${o}`).join('')}/CN=${commonName}`;
}

function fileName(name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name))
    throw new Error(`certificate name ${JSON.stringify(name)} must be [A-Za-z0-9._-]+`);
  return name;
}

/**
 * A lab's certificate authority and the certificates it signs, made with the openssl CLI into
 * one directory. Fresh per lab; the CA key stays in the directory so kube-controller-manager's
 * csrsigner (and tests) can sign more.
 */
export class Pki {
  readonly dir: string;
  readonly ca: CertPaths;
  readonly serviceAccount: { publicKey: string; privateKey: string };

  private constructor(dir: string) {
    this.dir = dir;
    this.ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
    this.serviceAccount = { publicKey: join(dir, 'sa.pub'), privateKey: join(dir, 'sa.key') };
  }

  /** Makes a new CA and service-account key pair in `dir` (replacing any there). */
  static async create(dir: string, opts: { caCommonName?: string; days?: number } = {}): Promise<Pki> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const pki = new Pki(dir);
    await newCertificate({
      configName: join(dir, 'ca'),
      extensions: [
        'basicConstraints = critical,CA:TRUE',
        'keyUsage = critical,keyCertSign,cRLSign,digitalSignature',
        'subjectKeyIdentifier = hash',
      ],
      out: pki.ca,
      days: opts.days ?? 3650,
      subject: subject(opts.caCommonName ?? 'edgefleet-lab-ca'),
    });
    await chmod(pki.ca.key, 0o600);
    await sh('openssl', [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-out',
      pki.serviceAccount.privateKey,
    ]);
    await chmod(pki.serviceAccount.privateKey, 0o600);
    await sh('openssl', [
      'pkey',
      '-in',
      pki.serviceAccount.privateKey,
      '-pubout',
      '-out',
      pki.serviceAccount.publicKey,
    ]);
    return pki;
  }

  /** Opens a PKI another process created (e.g. `npm run lab -- status` after `up`). */
  static open(dir: string): Pki {
    return new Pki(dir);
  }

  /** Issues `<dir>/<name>.crt` + `.key` signed by the CA. */
  async issue(name: string, req: CertRequest): Promise<CertPaths> {
    const base = join(this.dir, fileName(name));
    const out = { cert: `${base}.crt`, key: `${base}.key` };
    const eku = { client: 'clientAuth', server: 'serverAuth', both: 'clientAuth,serverAuth' }[req.usage];
    const sans = (req.altNames ?? []).map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`));
    await newCertificate({
      configName: base,
      extensions: [
        'basicConstraints = critical,CA:FALSE',
        'keyUsage = critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage = ${eku}`,
        'authorityKeyIdentifier = keyid',
        ...(sans.length > 0 ? [`subjectAltName = ${sans.join(',')}`] : []),
      ],
      out,
      days: req.days ?? 365,
      subject: subject(req.commonName, req.organizations),
      signer: this.ca,
    });
    await chmod(out.key, 0o600);
    return out;
  }

  issueClientCert(name: string, commonName: string, organizations: readonly string[] = [], days?: number) {
    return this.issue(name, { commonName, organizations, usage: 'client', days });
  }

  issueServerCert(name: string, commonName: string, altNames: readonly string[], days?: number) {
    return this.issue(name, { commonName, altNames, usage: 'server', days });
  }

  /** Admin-style kubeconfig for a client certificate, with everything embedded (portable). */
  async writeKubeconfig(
    path: string,
    opts: { server: string; user: string; client: CertPaths; context?: string },
  ): Promise<string> {
    const [ca, cert, key] = await Promise.all([
      readFile(this.ca.cert),
      readFile(opts.client.cert),
      readFile(opts.client.key),
    ]);
    const yaml = kubeconfigYaml({
      server: opts.server,
      user: opts.user,
      ca,
      cert,
      key,
      context: opts.context,
    });
    await writeFile(path, yaml, {
      mode: 0o600,
    });
    return path;
  }
}

/** A one-cluster, one-user kubeconfig; JSON is valid YAML so no YAML library is needed. */
export function kubeconfigYaml(o: {
  server: string;
  user: string;
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  /** Cluster and context name (default `lab`); the app shows it as the cluster's name. */
  context?: string | undefined;
}) {
  const name = o.context ?? 'lab';
  const user: Record<string, string> = {};
  if (o.cert) user['client-certificate-data'] = o.cert.toString('base64');
  if (o.key) user['client-key-data'] = o.key.toString('base64');
  if (o.token) user.token = o.token;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name, cluster: { server: o.server, 'certificate-authority-data': o.ca.toString('base64') } },
    ],
    users: [{ name: o.user, user }],
    contexts: [{ name, context: { cluster: name, user: o.user } }],
    'current-context': name,
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * A new P-256 key and certificate with the given extensions: self-signed, or signed by `signer`.
 * The extensions go through a config file next to the output, removed afterwards.
 */
async function newCertificate(opts: {
  configName: string;
  extensions: string[];
  out: CertPaths;
  days: number;
  subject: string;
  signer?: CertPaths;
}): Promise<void> {
  const cnf = `${opts.configName}.cnf`;
  await writeFile(cnf, opensslConfig(opts.extensions));
  try {
    await sh('openssl', [
      'req',
      '-x509',
      '-new',
      '-config',
      cnf,
      '-extensions',
      'ext',
      ...CURVE,
      '-nodes',
      '-keyout',
      opts.out.key,
      '-out',
      opts.out.cert,
      '-days',
      String(opts.days),
      '-subj',
      opts.subject,
      ...(opts.signer ? ['-CA', opts.signer.cert, '-CAkey', opts.signer.key] : []),
    ]);
  } finally {
    await rm(cnf, { force: true });
  }
}
