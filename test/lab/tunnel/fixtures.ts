/**
 * Helpers for the tunnel lab tests and bench: certificates, real agent/server processes with
 * their log lines, the node-side target services, and a few stream measurements.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Pki } from '../pki.ts';
import { sh } from '../sh.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = join(REPO, 'src-agent/main.ts');
const TARGETS = join(REPO, 'test/lab/tunnel/targets.ts');

export interface LogLine {
  time?: string;
  level?: string;
  msg?: string;
  at: number;
  [k: string]: unknown;
}

/** A child process whose stdout/stderr JSON lines are kept for assertions. */
export class Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];
  private waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  exited: Promise<number | null>;

  constructor(name: string, file: string, args: string[]) {
    this.name = name;
    this.child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    for (const s of [this.child.stdout, this.child.stderr]) {
      let buf = '';
      s?.setEncoding('utf8');
      s?.on('data', (c: string) => {
        buf += c;
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          this.onLine(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
        }
      });
    }
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
  }

  private onLine(text: string): void {
    this.raw.push(text);
    if (process.env.TUNNEL_TEST_VERBOSE) console.log(`[${this.name}] ${text}`);
    let line: LogLine;
    try {
      line = { ...(JSON.parse(text) as object), at: Date.now() };
    } catch {
      line = { msg: text, at: Date.now() };
    }
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  /** Resolves with the first line (already seen after `since`, or coming) matching pred. */
  waitFor(pred: (l: LogLine) => boolean, timeoutMs: number, since = 0): Promise<LogLine> {
    const seen = this.lines.find((l) => l.at >= since && pred(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `${this.name}: no matching log line within ${timeoutMs} ms; last lines:\n${this.raw.slice(-8).join('\n')}`,
          ),
        );
      }, timeoutMs);
      const done = (l: LogLine) => {
        clearTimeout(timer);
        resolve(l);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(t);
  }
}

export const msg = (m: string) => (l: LogLine) => l.msg === m;

/** Runs `node <script>` either here or inside a network namespace. */
export function nodeProc(name: string, netns: string | null, script: string, args: string[]): Proc {
  const nodeArgs = [script, ...args];
  return netns
    ? new Proc(name, 'ip', ['netns', 'exec', netns, process.execPath, ...nodeArgs])
    : new Proc(name, process.execPath, nodeArgs);
}

export function agentProc(name: string, netns: string | null, configPath: string): Proc {
  return nodeProc(name, netns, MAIN, ['tunnel-agent', '--config', configPath]);
}

export function serverProc(configPath: string): Proc {
  return nodeProc('server', null, MAIN, ['tunnel-server', '--config', configPath]);
}

export async function targetsProc(
  netns: string | null,
  ports: { echo?: number[]; blast?: number[]; relay?: string[] },
): Promise<Proc> {
  const args = [
    ...(ports.echo ?? []).flatMap((p) => ['--echo', String(p)]),
    ...(ports.blast ?? []).flatMap((p) => ['--blast', String(p)]),
    ...(ports.relay ?? []).flatMap((r) => ['--relay', r]),
  ];
  const p = nodeProc('targets', netns, TARGETS, args);
  await p.waitFor((l) => l.event === 'ready', 10_000);
  return p;
}

export async function writeJson(path: string, value: unknown): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, JSON.stringify(value, null, 2));
  return path;
}

export interface TunnelPki {
  pki: Pki;
  server: { cert: string; key: string };
  agent(node: string): Promise<{ cert: string; key: string }>;
  operator: { cert: string; key: string };
  stranger: { cert: string; key: string };
  /** Agent cert for `node` signed by a different CA. */
  rogueAgent(node: string): Promise<{ cert: string; key: string }>;
  expiredAgent(node: string): Promise<{ cert: string; key: string }>;
}

/** Cluster CA + the tunnel's certificates, made with openssl into `dir`. */
export async function makeTunnelPki(dir: string, serverNames: string[]): Promise<TunnelPki> {
  const pki = await Pki.create(join(dir, 'ca'));
  const server = await pki.issueServerCert('tunnel-server', 'edgefleet-tunnel-server', serverNames);
  const operator = await pki.issueClientCert('operator', 'alice', ['edgefleet:operators']);
  const stranger = await pki.issueClientCert('stranger', 'mallory', ['somebody-else']);
  const rogue = await Pki.create(join(dir, 'rogue-ca'), { caCommonName: 'not-the-cluster-ca' });
  return {
    pki,
    server,
    operator,
    stranger,
    agent: (node) => pki.issueClientCert(`agent-${node}`, `system:node:${node}`, ['system:nodes']),
    rogueAgent: (node) => rogue.issueClientCert(`agent-${node}`, `system:node:${node}`, ['system:nodes']),
    expiredAgent: (node) => issueExpired(pki, join(dir, 'expired'), `system:node:${node}`),
  };
}

/** `openssl req -days` cannot go into the past; `openssl ca` takes explicit dates. */
async function issueExpired(pki: Pki, dir: string, cn: string): Promise<{ cert: string; key: string }> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '1000\n');
  const cnf = join(dir, 'ca.cnf');
  await writeFile(
    cnf,
    [
      '[ca]',
      'default_ca = d',
      '[d]',
      `database = ${dir}/index.txt`,
      `new_certs_dir = ${dir}`,
      `serial = ${dir}/serial`,
      'default_md = sha256',
      'policy = p',
      'unique_subject = no',
      '[p]',
      'commonName = supplied',
      '[ext]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature',
      'extendedKeyUsage = clientAuth',
      '',
    ].join('\n'),
  );
  const key = join(dir, 'expired.key');
  const csr = join(dir, 'expired.csr');
  const cert = join(dir, 'expired.crt');
  await sh('openssl', [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    csr,
    '-subj',
    `/CN=${cn}`,
  ]);
  await sh('openssl', [
    'ca',
    '-batch',
    '-config',
    cnf,
    '-extensions',
    'ext',
    '-cert',
    pki.ca.cert,
    '-keyfile',
    pki.ca.key,
    '-in',
    csr,
    '-out',
    cert,
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200102000000Z',
    '-notext',
  ]);
  return { cert, key };
}

export async function tlsBuffers(p: { cert: string; key: string }, ca: string) {
  const [cert, key, caBuf] = await Promise.all([readFile(p.cert), readFile(p.key), readFile(ca)]);
  return { cert, key, ca: caBuf };
}

/** Sends `bytes` through an echo stream and reads them back. */
export function echoRoundTrip(sock: Duplex, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    let n = 0;
    const onData = (c: Buffer) => {
      got.push(c);
      n += c.length;
      if (n >= payload.length) {
        sock.off('data', onData);
        sock.off('error', reject);
        resolve(Buffer.concat(got));
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.write(payload);
  });
}

/** Asks a blast target for `bytes` and reads them all; resolves with MB/s. */
export function readBlast(sock: Duplex, bytes: number, timeoutMs = 120_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let n = 0;
    const timer = setTimeout(
      () => reject(new Error(`blast of ${bytes} bytes incomplete after ${timeoutMs} ms (${n} read)`)),
      timeoutMs,
    );
    sock.on('data', (c: Buffer) => {
      n += c.length;
    });
    sock.once('end', () => {
      clearTimeout(timer);
      if (n !== bytes) reject(new Error(`blast ended after ${n} of ${bytes} bytes`));
      else resolve(bytes / 1e6 / ((performance.now() - start) / 1000));
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.write(`${bytes}\n`);
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return (await res.json()) as T;
}
