/**
 * One SSH connection to a host (optionally through a jump host), made with ssh2:
 * credentials come from the vault by reference, the host key is verified against KnownHosts
 * (unknown → typed error carrying the fingerprint to show; changed → hard stop), keepalive on.
 */
import type { Readable } from 'node:stream';
import ssh2 from 'ssh2';
import { AppError } from '../ipc/errors.ts';
import type { Vault } from '../vault/vault.ts';
import type { KnownHosts } from './ssh-known-hosts.ts';

export type SshAuth =
  | { kind: 'key'; privateKeyRef: string; passphraseRef?: string }
  | { kind: 'password'; passwordRef: string }
  /** ssh-agent; `socket` defaults to $SSH_AUTH_SOCK. */
  | { kind: 'agent'; socket?: string };

export interface SshTarget {
  host: string;
  port?: number;
  username: string;
  auth: SshAuth;
  /** Reach `host` through this machine (its own host key is verified too). */
  jump?: SshTarget;
}

export interface SshSessionOptions {
  vault: Pick<Vault, 'get'>;
  knownHosts: KnownHosts;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  readyTimeoutMs?: number;
  /**
   * An already-open stream to the sshd of the first hop: the outermost jump host, or the target
   * itself without one (e.g. through the EdgeFleet tunnel).
   */
  sock?: Readable;
}

/** The host key is not known yet: the UI shows `fingerprint` and calls KnownHosts.trust on acceptance. */
export class HostKeyUnknownError extends AppError {
  readonly host: string;
  readonly port: number;
  readonly keyType: string;
  readonly fingerprint: string;
  constructor(host: string, port: number, keyType: string, fingerprint: string) {
    super(
      'ssh/host-key-unknown',
      `${host}:${port} presented a ${keyType} host key that EdgeFleet has not seen before: ${fingerprint}`,
      `Compare it with the host's own fingerprint (on the host: ssh-keygen -lf /etc/ssh/ssh_host_${keyType.replace(/^ssh-/, '')}_key.pub) and accept it only if they match.`,
    );
    this.host = host;
    this.port = port;
    this.keyType = keyType;
    this.fingerprint = fingerprint;
  }
}

export class HostKeyChangedError extends AppError {
  constructor(host: string, port: number, expected: string, got: string) {
    super(
      'ssh/host-key-changed',
      `STOPPED: the host key of ${host}:${port} changed (expected ${expected}, got ${got}). Someone may be intercepting the connection (man-in-the-middle), or the host was reinstalled.`,
      "Do not continue until you know why. If the host was really reinstalled, verify its new fingerprint out of band, then remove the old key from EdgeFleet's known hosts.",
    );
  }
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface CommandStream {
  write(chunk: Buffer): Promise<void>;
  end(): Promise<{ code: number | null; stderr: string }>;
}

/** A long-running command (e.g. `journalctl -f`) whose output is read as it comes. */
export interface RemoteProcess {
  /** Pausing it stops reading, and SSH's channel window then stops the remote side: bounded memory. */
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** The exit status; `code` null after `close()`. Rejects when the connection was lost. */
  readonly exit: Promise<{ code: number | null; signal: string | null }>;
  /** Ends the command's stdin and closes the channel. */
  close(): void;
}

export interface ExecOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
}

async function authConfig(auth: SshAuth, vault: Pick<Vault, 'get'>): Promise<ssh2.ConnectConfig> {
  switch (auth.kind) {
    case 'key': {
      const privateKey = await vault.get(auth.privateKeyRef);
      const passphrase = auth.passphraseRef ? await vault.get(auth.passphraseRef) : undefined;
      // Parse here so a wrong passphrase is reported as such, not as a vague handshake failure.
      const parsed = ssh2.utils.parseKey(privateKey, passphrase);
      if (parsed instanceof Error) {
        throw new AppError(
          'ssh/bad-key',
          `The SSH private key cannot be used: ${parsed.message}`,
          auth.passphraseRef ? 'Check the key passphrase.' : 'If the key is encrypted, add its passphrase.',
        );
      }
      return passphrase === undefined ? { privateKey } : { privateKey, passphrase };
    }
    case 'password':
      return { password: await vault.get(auth.passwordRef) };
    case 'agent': {
      const agent = auth.socket ?? process.env.SSH_AUTH_SOCK;
      if (!agent)
        throw new AppError(
          'ssh/no-agent',
          'No SSH agent is running (SSH_AUTH_SOCK is not set).',
          'Start ssh-agent and add your key with ssh-add, or use a key file.',
        );
      return { agent };
    }
  }
}

function describeFailure(target: SshTarget, port: number, err: Error & { level?: string }): AppError {
  const where = `${target.username}@${target.host}:${port}`;
  if (err.level === 'client-authentication') {
    return new AppError(
      'ssh/auth-failed',
      `${where} refused the ${target.auth.kind} credentials.`,
      'Check the user name and credentials (and that the key is in authorized_keys).',
    );
  }
  if (err.level === 'client-timeout') {
    return new AppError(
      'ssh/timeout',
      `${where}: no SSH handshake within the timeout.`,
      'Check that the host is up and that sshd listens on this port.',
    );
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (
    code === 'ECONNREFUSED' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'ETIMEDOUT' ||
    code === 'ENOTFOUND'
  ) {
    return new AppError(
      'ssh/unreachable',
      `${where}: ${code} (${err.message}).`,
      'Check the address, the network path (jump host / tunnel) and that sshd runs.',
    );
  }
  return new AppError('ssh/failed', `${where}: ${err.message}`);
}

export class SshSession {
  readonly target: SshTarget;
  private readonly client: ssh2.Client;
  private readonly jump: SshSession | undefined;
  /** Set once the connection ended (keepalive timeout, reset, close): pending commands fail with it. */
  private lost: AppError | undefined;

  private constructor(target: SshTarget, client: ssh2.Client, jump: SshSession | undefined) {
    this.target = target;
    this.client = client;
    this.jump = jump;
    const markLost = (why: string) => {
      this.lost ??= new AppError(
        'ssh/connection-lost',
        `the SSH connection to ${target.host} was lost (${why})`,
        'Check the link to the host; the run resumes from the last completed step.',
      );
    };
    client.on('error', (e: Error) => markLost(e.message));
    client.on('close', () => markLost('closed'));
  }

  /** Whether the connection is gone; commands on it fail with ssh/connection-lost. */
  get closed(): boolean {
    return this.lost !== undefined;
  }

  static async connect(target: SshTarget, options: SshSessionOptions): Promise<SshSession> {
    const port = target.port ?? 22;
    let jump: SshSession | undefined;
    let sock = target.jump ? undefined : options.sock;
    if (target.jump) {
      // The given stream leads to the first hop; the target is then reached through the jump host.
      jump = await SshSession.connect(target.jump, options);
      try {
        sock = await jump.forwardOut(target.host, port);
      } catch (e) {
        jump.close();
        throw e;
      }
    }
    try {
      const client = await SshSession.handshake(target, port, sock, options);
      return new SshSession(target, client, jump);
    } catch (e) {
      jump?.close();
      throw e;
    }
  }

  private static async handshake(
    target: SshTarget,
    port: number,
    sock: Readable | undefined,
    options: SshSessionOptions,
  ): Promise<ssh2.Client> {
    const auth = await authConfig(target.auth, options.vault);
    const client = new ssh2.Client();
    let hostKeyProblem: AppError | undefined;
    return new Promise((resolve, reject) => {
      client.on('ready', () => resolve(client));
      client.on('error', (err: Error & { level?: string }) => {
        client.end();
        reject(hostKeyProblem ?? describeFailure(target, port, err));
      });
      const config: ssh2.ConnectConfig = {
        host: target.host,
        port,
        username: target.username,
        ...auth,
        keepaliveInterval: options.keepaliveIntervalMs ?? 10_000,
        keepaliveCountMax: options.keepaliveCountMax ?? 3,
        readyTimeout: options.readyTimeoutMs ?? 20_000,
        hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
          options.knownHosts.verify(target.host, port, key).then(
            (v) => {
              if (v.status === 'unknown')
                hostKeyProblem = new HostKeyUnknownError(target.host, port, v.keyType, v.fingerprint);
              if (v.status === 'changed')
                hostKeyProblem = new HostKeyChangedError(
                  target.host,
                  port,
                  v.expected.fingerprint,
                  v.fingerprint,
                );
              verify(v.status === 'trusted');
            },
            (e: unknown) => {
              hostKeyProblem = new AppError('ssh/known-hosts', (e as Error).message);
              verify(false);
            },
          );
        },
      };
      if (sock) config.sock = sock;
      client.connect(config);
    });
  }

  /** Opens a TCP stream from this host to `host:port` (jump hosts). */
  forwardOut(host: string, port: number): Promise<Readable> {
    return new Promise((resolve, reject) => {
      this.client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
        if (err) {
          reject(
            new AppError(
              'ssh/jump-failed',
              `${this.target.host} could not open a connection to ${host}:${port}: ${err.message}`,
              'Check that the jump host can reach the target and allows TCP forwarding.',
            ),
          );
          return;
        }
        resolve(stream);
      });
    });
  }

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      if (this.lost) {
        reject(this.lost);
        return;
      }
      this.client.exec(command, (err, stream) => {
        if (err) {
          if (this.lost) {
            reject(this.lost);
            return;
          }
          reject(
            new AppError('ssh/exec-failed', `${this.target.host}: cannot run a command: ${err.message}`),
          );
          return;
        }
        const out: Buffer[] = [];
        const errs: Buffer[] = [];
        let timer: NodeJS.Timeout | undefined;
        if (opts.timeoutMs) {
          timer = setTimeout(() => {
            stream.close();
            reject(
              new AppError(
                'ssh/exec-timeout',
                `${this.target.host}: command did not finish within ${opts.timeoutMs} ms`,
              ),
            );
          }, opts.timeoutMs);
        }
        stream.on('data', (c: Buffer) => {
          out.push(c);
          opts.onStdout?.(c);
        });
        stream.stderr.on('data', (c: Buffer) => {
          errs.push(c);
          opts.onStderr?.(c);
        });
        stream.on('close', (code: number | null, signal: string | null) => {
          clearTimeout(timer);
          // A channel closed without exit status because the connection died is not a command result.
          if ((code === undefined || code === null) && !signal) {
            setImmediate(() =>
              reject(
                this.lost ??
                  new AppError(
                    'ssh/connection-lost',
                    `${this.target.host}: the command ended without an exit status (connection lost?)`,
                  ),
              ),
            );
            return;
          }
          resolve({
            code: code ?? null,
            signal: signal ?? null,
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(errs).toString('utf8'),
          });
        });
        if (opts.input !== undefined) stream.end(opts.input);
        else stream.end();
      });
    });
  }

  /**
   * Starts a command and hands back its channel: stdin for streaming uploads, and a promise for
   * its exit. Writes respect backpressure (await each write).
   */
  async stream(command: string): Promise<CommandStream> {
    const channel = await this.channel(command);
    const errs: Buffer[] = [];
    channel.stderr.on('data', (c: Buffer) => errs.push(c));
    channel.on('data', () => undefined);
    let failure: AppError | undefined;
    const done = new Promise<{ code: number | null; stderr: string }>((res, rej) => {
      channel.on('close', (code: number | null | undefined) => {
        if (code === undefined || code === null) {
          failure =
            this.lost ??
            new AppError('ssh/connection-lost', `${this.target.host}: the transfer channel closed early`);
          setImmediate(() => rej(this.lost ?? failure));
          return;
        }
        res({ code, stderr: Buffer.concat(errs).toString('utf8') });
      });
    });
    done.catch(() => undefined);
    return {
      write: (chunk: Buffer) =>
        new Promise<void>((res, rej) => {
          if (failure || this.lost) {
            rej(this.lost ?? failure);
            return;
          }
          if (channel.write(chunk)) res();
          else {
            const onDrain = () => {
              cleanup();
              res();
            };
            const onClose = () => {
              cleanup();
              rej(
                this.lost ??
                  new AppError('ssh/connection-lost', `${this.target.host}: the transfer channel closed`),
              );
            };
            const cleanup = () => {
              channel.off('drain', onDrain);
              channel.off('close', onClose);
            };
            channel.on('drain', onDrain);
            channel.on('close', onClose);
          }
        }),
      end: () => {
        channel.end();
        return done;
      },
    };
  }

  /** Starts a command and hands back its output streams; stdin stays open until `close()`. */
  async spawn(command: string): Promise<RemoteProcess> {
    const channel = await this.channel(command);
    let closedByUs = false;
    const exit = new Promise<{ code: number | null; signal: string | null }>((res, rej) => {
      channel.on('close', (code: number | null | undefined, signal: string | null | undefined) => {
        if ((code === undefined || code === null) && !signal && !closedByUs) {
          setImmediate(() =>
            rej(
              this.lost ??
                new AppError('ssh/connection-lost', `${this.target.host}: the command's channel closed`),
            ),
          );
          return;
        }
        res({ code: code ?? null, signal: signal ?? null });
      });
    });
    exit.catch(() => undefined);
    return {
      stdout: channel,
      stderr: channel.stderr,
      exit,
      close: () => {
        closedByUs = true;
        channel.end();
        channel.close();
      },
    };
  }

  /** Opens a session channel running `command`; fails with the lost connection's error if there is one. */
  private channel(command: string): Promise<ssh2.ClientChannel> {
    return new Promise((resolve, reject) => {
      if (this.lost) {
        reject(this.lost);
        return;
      }
      this.client.exec(command, (err, channel) => {
        if (err)
          reject(
            this.lost ??
              new AppError('ssh/exec-failed', `${this.target.host}: cannot run a command: ${err.message}`),
          );
        else resolve(channel);
      });
    });
  }

  close(): void {
    this.client.end();
    this.jump?.close();
  }
}
