/**
 * SSH logins against a real OpenSSH sshd (an nspawn lab host), not the ssh2 test server the unit
 * tests use: a passphrase-protected ed25519 key made by ssh-keygen, and a real ssh-agent holding
 * that key (loaded with ssh-add, the passphrase fed through SSH_ASKPASS). The host key is checked
 * against the host's own fingerprint before anything is trusted.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostKeyUnknownError, SshSession, type SshTarget } from '../../src-main/provision/ssh-session.ts';
import { Lab } from './lab.ts';
import { provisionKit } from './provision-support.ts';

const run = promisify(execFile);
const PASSPHRASE = 'lab key pass 42';

interface Agent {
  socket: string;
  proc: ChildProcess;
}

describe('SSH auth against real sshd: key + passphrase, ssh-agent', () => {
  let lab: Lab;
  let kit: Awaited<ReturnType<typeof provisionKit>>;
  let keyPath = '';
  let keyFingerprint = '';
  const agents: Agent[] = [];
  const sessions: SshSession[] = [];

  const edge = () => lab.host('edge-1');
  const target = (auth: SshTarget['auth']): SshTarget => ({ host: edge().address, username: 'root', auth });
  const connect = async (t: SshTarget) => {
    const s = await SshSession.connect(t, {
      vault: kit.vault,
      knownHosts: kit.knownHosts,
      readyTimeoutMs: 10_000,
    });
    sessions.push(s);
    return s;
  };
  const keyAuth = async (passphrase: string | undefined, id: string): Promise<SshTarget['auth']> => ({
    kind: 'key',
    privateKeyRef: await kit.vault.put('ssh-private-key', id, await readFile(keyPath, 'utf8')),
    ...(passphrase === undefined
      ? {}
      : { passphraseRef: await kit.vault.put('ssh-passphrase', id, passphrase) }),
  });

  /** A real ssh-agent in the foreground (-D) so this process owns it and can end it. */
  async function startAgent(name: string): Promise<Agent> {
    const socket = join(kit.dir, `${name}.sock`);
    const proc = spawn('ssh-agent', ['-D', '-a', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
    const agent = { socket, proc };
    agents.push(agent);
    let stderr = '';
    proc.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    for (let i = 0; i < 100 && !existsSync(socket) && proc.exitCode === null; i++)
      await new Promise((r) => setTimeout(r, 50));
    if (!existsSync(socket))
      throw new Error(`ssh-agent did not create ${socket}: ${stderr.trim() || 'no output'}`);
    return agent;
  }

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('lab tests need root');
    lab = await Lab.start({ hosts: 1 });
    kit = await provisionKit(lab);
    keyPath = join(kit.dir, 'id_ed25519');
    await run('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      PASSPHRASE,
      '-C',
      'edgefleet-lab-auth',
      '-f',
      keyPath,
    ]);
    const publicKey = (await readFile(`${keyPath}.pub`, 'utf8')).trim();
    keyFingerprint = (await run('ssh-keygen', ['-l', '-f', `${keyPath}.pub`])).stdout.split(' ')[1] ?? '';
    expect(keyFingerprint).toMatch(/^SHA256:/);
    await edge().run(`printf '%s\\n' '${publicKey}' >> /root/.ssh/authorized_keys`);

    // Trust on first use, but only after checking the key sshd shows is the host's own.
    const err = await connect(target(await keyAuth(PASSPHRASE, 'tofu'))).then(
      () => expect.unreachable('connected before the host key was trusted'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HostKeyUnknownError);
    const unknown = err as HostKeyUnknownError;
    expect(unknown.fingerprint).toBe(edge().hostKeyFingerprint());
    await kit.knownHosts.trust(unknown.host, unknown.port, unknown.keyType, unknown.fingerprint);
  });

  afterAll(async () => {
    for (const s of sessions) s.close();
    const errors: string[] = [];
    for (const a of agents) {
      if (a.proc.exitCode !== null || a.proc.signalCode !== null) continue;
      const exited = new Promise((r) => a.proc.once('exit', r));
      a.proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (a.proc.exitCode === null && a.proc.signalCode === null) {
        a.proc.kill('SIGKILL');
        errors.push(`ssh-agent ${a.proc.pid} ignored SIGTERM`);
      }
    }
    await lab?.stop().catch((e: Error) => errors.push(e.message));
    if (kit) await rm(kit.dir, { recursive: true, force: true });
    if (errors.length) throw new Error(errors.join('; '));
  });

  it('logs in with an ssh-keygen key and its passphrase, as root', async () => {
    const s = await connect(target(await keyAuth(PASSPHRASE, 'good')));
    expect(await s.exec('id -u')).toMatchObject({ code: 0, stdout: '0\n' });
  });

  it('names a wrong or missing passphrase as the problem, before talking to sshd', async () => {
    await expect(connect(target(await keyAuth('not the passphrase', 'bad')))).rejects.toMatchObject({
      code: 'ssh/bad-key',
      message: expect.stringMatching(/bad passphrase/),
      fix: expect.stringMatching(/passphrase/),
    });
    await expect(connect(target(await keyAuth(undefined, 'none')))).rejects.toMatchObject({
      code: 'ssh/bad-key',
      message: expect.stringMatching(/no passphrase given/),
      fix: expect.stringMatching(/add its passphrase/),
    });
  });

  it('logs in through a real ssh-agent holding the key', async () => {
    const agent = await startAgent('agent-loaded');
    const askpass = join(kit.dir, 'askpass.sh');
    await writeFile(askpass, `#!/bin/sh\nprintf '%s\\n' '${PASSPHRASE}'\n`);
    await chmod(askpass, 0o700);
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      SSH_AUTH_SOCK: agent.socket,
      SSH_ASKPASS: askpass,
      SSH_ASKPASS_REQUIRE: 'force',
    };
    await run('ssh-add', [keyPath], { env });
    // The agent holds exactly the key whose public half is on the host.
    expect((await run('ssh-add', ['-l'], { env })).stdout).toContain(keyFingerprint);
    const s = await connect(target({ kind: 'agent', socket: agent.socket }));
    expect(await s.exec('id -u')).toMatchObject({ code: 0, stdout: '0\n' });
  });

  it('reports an agent with no identities as refused credentials', async () => {
    const agent = await startAgent('agent-empty');
    const listed = await run('ssh-add', ['-l'], { env: { SSH_AUTH_SOCK: agent.socket } }).then(
      () => 'listed keys',
      (e: { code?: number; stdout?: string }) => `${e.code}: ${e.stdout?.trim()}`,
    );
    expect(listed).toBe('1: The agent has no identities.');
    await expect(connect(target({ kind: 'agent', socket: agent.socket }))).rejects.toMatchObject({
      code: 'ssh/auth-failed',
      message: expect.stringMatching(/refused the agent credentials/),
    });
  });
});
