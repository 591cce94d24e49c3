import { execFile } from 'node:child_process';

/** A short command that failed; carries what ran and what it said so the caller can report it. */
export class CommandError extends Error {
  readonly command: string;
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(command: string, exitCode: number | null, stderr: string) {
    super(
      `${command} failed (exit ${exitCode ?? 'signal'}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
    );
    this.name = 'CommandError';
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

export interface ShOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs a short-lived command and resolves with its stdout; rejects with CommandError. */
export function sh(file: string, args: readonly string[], opts: ShOptions = {}): Promise<string> {
  const command = [file, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        timeout: opts.timeoutMs ?? 60_000,
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (err) {
          const code = typeof err.code === 'number' ? err.code : null;
          reject(new CommandError(command, code, stderr || err.message));
        } else {
          resolve(stdout);
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like sh() but resolves to false instead of throwing: for probes and best-effort cleanup. */
export async function shOk(file: string, args: readonly string[], opts: ShOptions = {}): Promise<boolean> {
  try {
    await sh(file, args, opts);
    return true;
  } catch {
    return false;
  }
}
