/**
 * Root shell on a host over an SshSession: root logs in directly, anyone else goes through
 * `sudo -n` (never a password prompt: a missing sudo right is reported, not hung on).
 */
import { RefusedError } from './runner.ts';
import type { SshSession } from './ssh-session.ts';
import type { RemotePipe, RemoteShell } from './types.ts';

/** Single-quotes a value for sh. */
export function shq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export class SshRemote implements RemoteShell {
  readonly host: string;
  private readonly session: SshSession;
  private readonly asRoot: boolean;
  private readonly onOutput: ((line: string, stream: 'stdout' | 'stderr') => void) | undefined;

  constructor(
    session: SshSession,
    opts: { onOutput?: (line: string, stream: 'stdout' | 'stderr') => void } = {},
  ) {
    this.session = session;
    this.host = session.target.host;
    this.asRoot = session.target.username === 'root';
    this.onOutput = opts.onOutput;
  }

  /** `sh -c <script>` as root. The script travels as one quoted argument, so stdin stays free for data. */
  private command(script: string): string {
    const sh = `sh -c ${shq(`set -eu\n${script}`)}`;
    return this.asRoot ? sh : `sudo -n -- ${sh}`;
  }

  async sh(
    script: string,
    opts: { input?: string | Buffer; timeoutMs?: number; log?: boolean } = {},
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const r = await this.session.exec(this.command(script), {
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      timeoutMs: opts.timeoutMs ?? 120_000,
    });
    if (!this.asRoot && r.code === 1 && /^sudo: /m.test(r.stderr)) {
      throw new RefusedError(
        'refused/no-sudo',
        `${this.host}: user ${this.session.target.username} cannot run commands as root without a password (${r.stderr.trim().split('\n')[0]})`,
        'Log in as root, or give this user passwordless sudo (a file in /etc/sudoers.d with NOPASSWD: ALL).',
      );
    }
    if (opts.log !== false && this.onOutput) {
      for (const l of r.stdout.split('\n')) if (l) this.onOutput(l, 'stdout');
      for (const l of r.stderr.split('\n')) if (l) this.onOutput(l, 'stderr');
    }
    return r;
  }

  async pipe(script: string): Promise<RemotePipe> {
    const s = await this.session.stream(this.command(script));
    let sent = 0;
    return {
      get sent() {
        return sent;
      },
      write: async (chunk: Buffer) => {
        await s.write(chunk);
        sent += chunk.length;
      },
      end: () => s.end(),
    };
  }
}
