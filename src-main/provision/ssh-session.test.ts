import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type KeychainApi, Vault } from '../vault/vault.ts';
import { KnownHosts } from './ssh-known-hosts.ts';
import { HostKeyUnknownError, SshSession, type SshTarget } from './ssh-session.ts';

// A real SSH server (ssh2.Server) on 127.0.0.1: exec, password / public-key auth, TCP forwarding for jump hosts.
interface TestServer {
  port: number;
  server: ssh2.Server;
  forwards: string[];
}

const PASSWORD = 'correct horse battery';
const clientKey = ssh2.utils.generateKeyPairSync('ed25519');
const encryptedKey = ssh2.utils.generateKeyPairSync('ecdsa', {
  bits: 256,
  passphrase: 'key-pass',
  cipher: 'aes256-cbc',
});

function allowedKeys(): ssh2.ParsedKey[] {
  return [clientKey.public, encryptedKey.public].map((p) => ssh2.utils.parseKey(p) as ssh2.ParsedKey);
}

function startServer(
  hostKey: string,
  opts: { allowForward?: boolean; port?: number } = {},
): Promise<TestServer> {
  const forwards: string[] = [];
  const keys = allowedKeys();
  const server = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => {
      if (ctx.method === 'password' && ctx.username === 'root' && ctx.password === PASSWORD)
        return ctx.accept();
      if (ctx.method === 'publickey') {
        const k = keys.find((k) => k.type === ctx.key.algo && k.getPublicSSH().equals(ctx.key.data));
        if (k && (!ctx.signature || k.verify(ctx.blob as Buffer, ctx.signature, ctx.hashAlgo)))
          return ctx.accept();
      }
      ctx.reject();
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        accept().on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          if (info.command === 'fail') {
            stream.stderr.write('boom\n');
            stream.exit(3);
          } else {
            stream.write(`ran: ${info.command}\n`);
            stream.exit(0);
          }
          stream.end();
        });
      });
      client.on('tcpip', (accept, reject, info) => {
        if (!opts.allowForward || info.destIP !== '127.0.0.1') return reject();
        forwards.push(`${info.destIP}:${info.destPort}`);
        const s = net.connect(info.destPort, info.destIP);
        s.once('connect', () => {
          const ch = accept();
          ch.pipe(s).pipe(ch);
        });
        s.once('error', () => reject());
      });
    });
  });
  return new Promise((resolve) => {
    server.listen(opts.port ?? 0, '127.0.0.1', () =>
      resolve({ port: (server.address() as net.AddressInfo).port, server, forwards }),
    );
  });
}

function memoryKeychain(): KeychainApi {
  const data = new Map<string, string>();
  return {
    getPassword: async (_s, a) => data.get(a) ?? null,
    setPassword: async (_s, a, p) => void data.set(a, p),
    deletePassword: async (_s, a) => data.delete(a),
    findCredentials: async () => [],
  };
}

let dir: string;
let vault: Vault;
const servers: ssh2.Server[] = [];
const sessions: SshSession[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ef-ssh-'));
  vault = await Vault.open({ loadKeychain: async () => memoryKeychain() });
});
afterEach(async () => {
  for (const s of sessions.splice(0)) s.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function serve(
  hostKey = ssh2.utils.generateKeyPairSync('ed25519').private,
  opts: { allowForward?: boolean; port?: number } = {},
) {
  const s = await startServer(hostKey, opts);
  servers.push(s.server);
  return s;
}

async function connect(target: SshTarget, knownHosts: KnownHosts) {
  const s = await SshSession.connect(target, { vault, knownHosts, readyTimeoutMs: 5_000 });
  sessions.push(s);
  return s;
}

async function trustOnFirstUse(target: SshTarget, knownHosts: KnownHosts): Promise<HostKeyUnknownError> {
  const e = await connect(target, knownHosts).then(
    () => expect.unreachable('an unknown host key must not be accepted silently'),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(HostKeyUnknownError);
  const unknown = e as HostKeyUnknownError;
  await knownHosts.trust(unknown.host, unknown.port, unknown.keyType, unknown.fingerprint);
  return unknown;
}

describe('SshSession', () => {
  it('shows an unknown host key fingerprint, connects once it is accepted, and runs commands', async () => {
    const { port } = await serve();
    const knownHosts = new KnownHosts(join(dir, 'kh1.json'));
    const target: SshTarget = {
      host: '127.0.0.1',
      port,
      username: 'root',
      auth: { kind: 'password', passwordRef: await vault.put('ssh-password', 'h1', PASSWORD) },
    };
    const unknown = await trustOnFirstUse(target, knownHosts);
    expect(unknown.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(unknown.keyType).toBe('ssh-ed25519');
    const s = await connect(target, knownHosts);
    expect(await s.exec('uname -a')).toMatchObject({ code: 0, stdout: 'ran: uname -a\n' });
    expect(await s.exec('fail')).toMatchObject({ code: 3, stderr: 'boom\n' });
  });

  it('stops hard when the host key changed', async () => {
    const first = await serve();
    const knownHosts = new KnownHosts(join(dir, 'kh2.json'));
    const target: SshTarget = {
      host: '127.0.0.1',
      port: first.port,
      username: 'root',
      auth: { kind: 'password', passwordRef: await vault.put('ssh-password', 'h2', PASSWORD) },
    };
    await trustOnFirstUse(target, knownHosts);
    await new Promise((r) => first.server.close(r));
    await serve(ssh2.utils.generateKeyPairSync('ed25519').private, { port: first.port });
    await expect(connect(target, knownHosts)).rejects.toMatchObject({
      code: 'ssh/host-key-changed',
      message: expect.stringMatching(/man-in-the-middle/),
    });
  });

  it('authenticates with a key, a key with passphrase, and reports wrong password / passphrase clearly', async () => {
    const { port } = await serve();
    const knownHosts = new KnownHosts(join(dir, 'kh3.json'));
    const base = { host: '127.0.0.1', port, username: 'root' };
    const keyTarget: SshTarget = {
      ...base,
      auth: { kind: 'key', privateKeyRef: await vault.put('ssh-private-key', 'k1', clientKey.private) },
    };
    await trustOnFirstUse(keyTarget, knownHosts);
    expect((await (await connect(keyTarget, knownHosts)).exec('id')).code).toBe(0);

    const encRef = await vault.put('ssh-private-key', 'k2', encryptedKey.private);
    const withPass: SshTarget = {
      ...base,
      auth: {
        kind: 'key',
        privateKeyRef: encRef,
        passphraseRef: await vault.put('ssh-passphrase', 'k2', 'key-pass'),
      },
    };
    expect((await (await connect(withPass, knownHosts)).exec('id')).code).toBe(0);

    const badPass: SshTarget = {
      ...base,
      auth: {
        kind: 'key',
        privateKeyRef: encRef,
        passphraseRef: await vault.put('ssh-passphrase', 'k2bad', 'wrong-pass'),
      },
    };
    await expect(connect(badPass, knownHosts)).rejects.toMatchObject({ code: 'ssh/bad-key' });

    const badPw: SshTarget = {
      ...base,
      auth: { kind: 'password', passwordRef: await vault.put('ssh-password', 'bad', 'not-the-password') },
    };
    await expect(connect(badPw, knownHosts)).rejects.toMatchObject({ code: 'ssh/auth-failed' });
  });

  it('reaches a host through a jump host, verifying both host keys', async () => {
    const target = await serve();
    const jump = await serve(undefined, { allowForward: true });
    const knownHosts = new KnownHosts(join(dir, 'kh4.json'));
    const passwordRef = await vault.put('ssh-password', 'jump', PASSWORD);
    const jumpTarget: SshTarget = {
      host: '127.0.0.1',
      port: jump.port,
      username: 'root',
      auth: { kind: 'password', passwordRef },
    };
    await trustOnFirstUse(jumpTarget, knownHosts);
    const via: SshTarget = {
      host: '127.0.0.1',
      port: target.port,
      username: 'root',
      auth: { kind: 'password', passwordRef },
      jump: jumpTarget,
    };
    const unknown = await trustOnFirstUse(via, knownHosts);
    expect(unknown.port).toBe(target.port);
    const s = await connect(via, knownHosts);
    expect((await s.exec('hostname')).stdout).toBe('ran: hostname\n');
    expect(jump.forwards).toContain(`127.0.0.1:${target.port}`);
  });

  it.skipIf(!existsSync('/usr/bin/ssh-agent'))('authenticates through ssh-agent', async () => {
    const sock = join(dir, 'agent.sock');
    const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
      const keyFile = join(dir, 'agent_key');
      await writeFile(keyFile, clientKey.private, { mode: 0o600 });
      execFileSync('ssh-add', [keyFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const { port } = await serve();
      const knownHosts = new KnownHosts(join(dir, 'kh5.json'));
      const target: SshTarget = {
        host: '127.0.0.1',
        port,
        username: 'root',
        auth: { kind: 'agent', socket: sock },
      };
      await trustOnFirstUse(target, knownHosts);
      expect((await (await connect(target, knownHosts)).exec('id')).code).toBe(0);
    } finally {
      agent.kill();
    }
  });
});
