import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** One long-running lab program (etcd, kube-apiserver, kwok, ...), logging to `<dir>/logs/<name>.log`. */
export interface ProcessRecord {
  name: string;
  pid: number;
  file: string;
  args: string[];
  logPath: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningProcess extends ProcessRecord {
  /** Settles when the process has exited (for attached groups: polled). */
  readonly exited: Promise<ExitInfo>;
  hasExited(): boolean;
}

export interface ProcessSpec {
  name: string;
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/** A program the lab started has exited or could not start; carries its log's last lines. */
export class LabProcessError extends Error {
  readonly logPath: string;
  constructor(message: string, logPath: string) {
    super(message);
    this.name = 'LabProcessError';
    this.logPath = logPath;
  }
}

/** Last lines of a log file, for error messages. */
export function logTail(path: string, lines = 8): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch (e) {
    return `(no log: ${(e as Error).message})`;
  }
}

/**
 * A free TCP port on `host` for a lab program to bind. Chosen at random below the kernel's
 * ephemeral range (32768+): a port the kernel hands out with listen(0) can be taken by any
 * outgoing connection's local port before the program binds it (seen: kube-scheduler failing
 * with EADDRINUSE while a tunnel test had many connections open).
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    // Callers often ask for several ports before binding any: never hand out one twice.
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canBind(host, port)) return port;
  }
  throw new Error(`no free TCP port on ${host} in 20000-31999 after 100 tries`);
}

const handedOut = new Set<number>();

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `pid` still runs the program recorded for it (guards against PID reuse). */
export function pidRuns(record: Pick<ProcessRecord, 'pid' | 'file'>): boolean {
  if (!pidAlive(record.pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0');
    if (readFileSync(`/proc/${record.pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')) return false;
    return cmdline.includes(record.file);
  } catch {
    return false;
  }
}

async function pollExit(record: ProcessRecord): Promise<ExitInfo> {
  // Unref'd: watching another process's program must not keep this one alive.
  while (pidRuns(record)) await sleep(100, undefined, { ref: false });
  return { code: null, signal: null };
}

// Children of attached (non-detached) groups, killed synchronously if this Node process exits
// in any way that still runs 'exit' handlers; setpriv --pdeathsig covers a SIGKILLed parent.
const attachedChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of attachedChildren) child.kill('SIGKILL');
  });
}

type ShutdownHook = () => Promise<void> | void;
const shutdownHooks = new Set<ShutdownHook>();
let shuttingDown = false;

/**
 * True once Ctrl-C cleanup has begun. Work that fails because cleanup pulled its parts away
 * (a lab start in flight) checks this and waits for the exit instead of reporting that failure
 * as its own: the process must end with the signal's code, after cleanup, not with exit 1.
 */
export function isShuttingDown(): boolean {
  return shuttingDown;
}

function onSignal(signal: NodeJS.Signals) {
  shuttingDown = true;
  process.stderr.write(`[lab] ${signal}: cleaning up\n`);
  const hooks = [...shutdownHooks].reverse();
  shutdownHooks.clear();
  const all = (async () => {
    for (const h of hooks) {
      try {
        await h();
      } catch (e) {
        process.stderr.write(`[lab] cleanup step failed: ${(e as Error).message}\n`);
      }
    }
  })();
  const deadline = sleep(30_000, undefined, { ref: false }).then(() =>
    process.stderr.write('[lab] cleanup timed out after 30 s\n'),
  );
  void Promise.race([all, deadline]).then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
}

/**
 * Runs `hook` on the first SIGINT/SIGTERM (Ctrl-C), then exits 130/143. The lab's parts (cluster,
 * hosts, network) register here so one Ctrl-C tears all of them down. Returns the unregister
 * function; with no hook left the process gets its default signal behaviour back.
 */
export function addShutdownHook(hook: ShutdownHook): () => void {
  if (shutdownHooks.size === 0) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  shutdownHooks.add(hook);
  return () => {
    if (!shutdownHooks.delete(hook) || shutdownHooks.size > 0) return;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

const STATE_FILE = 'processes.json';
let saveCounter = 0;

/**
 * The lab programs started under one directory. Attached groups tie their children's lives to
 * this Node process; detached ones (for `npm run lab -- up`) outlive it and are found again
 * through `<dir>/processes.json` by `ProcessGroup.load(dir)`.
 */
export class ProcessGroup {
  readonly dir: string;
  readonly logDir: string;
  readonly detached: boolean;
  private readonly procs: RunningProcess[] = [];
  private readonly children = new Map<number, ChildProcess>();

  constructor(dir: string, opts: { detached?: boolean } = {}) {
    this.dir = dir;
    this.logDir = join(dir, 'logs');
    this.detached = opts.detached ?? false;
    mkdirSync(this.logDir, { recursive: true });
  }

  /** Re-opens the group another process started (state file), keeping only still-running entries. */
  static async load(dir: string): Promise<ProcessGroup> {
    const group = new ProcessGroup(dir, { detached: true });
    const path = join(dir, STATE_FILE);
    if (!existsSync(path)) return group;
    const records = JSON.parse(await readFile(path, 'utf8')) as ProcessRecord[];
    for (const r of records) {
      if (!pidRuns(r)) continue;
      let done = false;
      const exited = pollExit(r).then((x) => {
        done = true;
        return x;
      });
      group.procs.push({ ...r, exited, hasExited: () => done });
    }
    return group;
  }

  get processes(): readonly RunningProcess[] {
    return this.procs;
  }

  get(name: string): RunningProcess | undefined {
    return this.procs.find((p) => p.name === name);
  }

  start(spec: ProcessSpec): RunningProcess {
    if (this.get(spec.name)) throw new Error(`lab process ${spec.name} is already running in ${this.dir}`);
    const logPath = join(this.logDir, `${spec.name}.log`);
    const fd = openSync(logPath, 'a');
    // setpriv execs the program (same PID) after asking the kernel to SIGKILL it when we die.
    const [file, args] = this.detached
      ? [spec.file, spec.args]
      : ['setpriv', ['--pdeathsig', 'KILL', '--', spec.file, ...spec.args]];
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        stdio: ['ignore', fd, fd],
        detached: this.detached,
        env: spec.env ?? process.env,
      });
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) throw new LabProcessError(`cannot start ${spec.file}`, logPath);
    let done = false;
    const exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        done = true;
        attachedChildren.delete(child);
        resolve({ code, signal });
      });
      child.once('error', (e) => {
        done = true;
        attachedChildren.delete(child);
        writeFileSync(logPath, `spawn error: ${e.message}\n`, { flag: 'a' });
        resolve({ code: null, signal: null });
      });
    });
    if (this.detached) {
      child.unref();
    } else {
      installExitHook();
      attachedChildren.add(child);
    }
    const proc: RunningProcess = {
      name: spec.name,
      pid: child.pid,
      file: spec.file,
      args: spec.args,
      logPath,
      exited,
      hasExited: () => done,
    };
    this.children.set(child.pid, child);
    this.procs.push(proc);
    this.saveSync();
    return proc;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(name: string, graceMs = 10_000): Promise<void> {
    const proc = this.get(name);
    if (!proc) return;
    if (!proc.hasExited()) {
      this.signal(proc, 'SIGTERM');
      const killed = await Promise.race([proc.exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!killed) {
        this.signal(proc, 'SIGKILL');
        const gone = await Promise.race([proc.exited.then(() => true), sleep(10_000).then(() => false)]);
        if (!gone)
          throw new LabProcessError(`${name} (pid ${proc.pid}) survived SIGKILL for 10 s`, proc.logPath);
      }
    }
    this.procs.splice(this.procs.indexOf(proc), 1);
    this.children.delete(proc.pid);
    await this.save();
  }

  /** Stops everything, last started first (kwok before the API server before etcd). */
  async stopAll(graceMs = 10_000): Promise<void> {
    const errors: Error[] = [];
    for (const p of [...this.procs].reverse()) {
      await this.stop(p.name, graceMs).catch((e: Error) => errors.push(e));
    }
    if (errors.length > 0) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
  }

  private signal(proc: RunningProcess, sig: NodeJS.Signals) {
    const child = this.children.get(proc.pid);
    if (child) child.kill(sig);
    else if (pidRuns(proc)) process.kill(proc.pid, sig);
  }

  private records(): ProcessRecord[] {
    return this.procs.map(({ name, pid, file, args, logPath }) => ({ name, pid, file, args, logPath }));
  }

  private saveSync() {
    writeFileSync(join(this.dir, STATE_FILE), JSON.stringify(this.records(), null, 2));
  }

  private async save() {
    const path = join(this.dir, STATE_FILE);
    // Unique per write: two groups over one dir (a live cluster and a stopFromState) may save at once.
    const tmp = `${path}.${process.pid}.${++saveCounter}.tmp`;
    await writeFile(tmp, JSON.stringify(this.records(), null, 2));
    await rename(tmp, path);
  }
}

/** Resolves when `probe` returns true; fails early if `proc` exits, or after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; proc?: RunningProcess },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (opts.proc?.hasExited()) {
      throw new LabProcessError(
        `${opts.proc.name} exited while waiting for ${what}; log ${opts.proc.logPath}:\n${logTail(opts.proc.logPath)}`,
        opts.proc.logPath,
      );
    }
    try {
      if (await probe()) return;
    } catch (e) {
      lastError = (e as Error).message;
    }
    await sleep(opts.intervalMs ?? 250);
  }
  const log = opts.proc ? `; log ${opts.proc.logPath}:\n${logTail(opts.proc.logPath)}` : '';
  throw new LabProcessError(
    `timed out after ${opts.timeoutMs / 1000} s waiting for ${what}${lastError ? ` (last: ${lastError})` : ''}${log}`,
    opts.proc?.logPath ?? '',
  );
}
