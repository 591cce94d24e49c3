import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostLink } from './net.ts';
import { ensureRootfs } from './rootfs.ts';
import { sh, shOk } from './sh.ts';
import { fingerprintOfPublicKey } from './ssh-keys.ts';

/**
 * A lab host: a real Debian system (systemd, sshd) booted with systemd-nspawn on its own
 * overlay of the cached rootfs, inside the network namespace of its HostLink.
 *
 * nspawn runs under a small sh supervisor, started detached, that boots it again when the
 * container asks for a reboot (nspawn exits 133) — so `reboot` from inside (over SSH, by an
 * installer) behaves like a real machine, and hosts outlive the process that started them
 * (`npm run lab -- up`). Everything needed to stop a host from another process is in
 * labDir/hosts/<name>/state.json.
 */

const CGROUP2_MAGIC = 0x63677270;
/** Terminal colour codes, stripped from console output quoted in errors. */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What a stop from another process needs; written at boot, removed after a clean stop. */
export interface HostState {
  name: string;
  machine: string;
  netns: string;
  address: string;
  hostDir: string;
  merged: string;
  supervisorPid: number;
  /** cgroup directories made for this host (deleted, deepest first, at stop). */
  cgroups: string[];
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code of the command; null when it was killed by a signal. */
  code: number | null;
}

export interface ExecOptions {
  input?: string;
  timeoutMs?: number;
}

export interface BootOptions {
  /** The lab's working directory; the host's overlay and state live in labDir/hosts/<name>. */
  labDir: string;
  name: string;
  link: HostLink;
  /** One OpenSSH public key line, authorized for root. */
  authorizedKey: string;
  /** Lower layer; default: ensureRootfs(). */
  rootfs?: string;
  /** Time allowed from nspawn start to "sshd up and systemd running"; default 90 s. */
  bootTimeoutMs?: number;
  log?: (line: string) => void;
}

export class HostError extends Error {
  readonly host: string;
  constructor(host: string, message: string) {
    super(`lab host ${host}: ${message}`);
    this.name = 'HostError';
    this.host = host;
  }
}

export class LabHost {
  readonly name: string;
  readonly link: HostLink;
  readonly hostDir: string;
  private state: HostState;
  private fingerprint: string;
  /** The latest boot's "running" | "degraded" answer and how long that boot took. */
  lastBoot: { systemState: string; failedUnits: string[]; bootMs: number } = {
    systemState: 'unknown',
    failedUnits: [],
    bootMs: 0,
  };

  private constructor(link: HostLink, state: HostState, fingerprint: string) {
    this.name = state.name;
    this.link = link;
    this.hostDir = state.hostDir;
    this.state = state;
    this.fingerprint = fingerprint;
  }

  get address(): string {
    return this.link.address;
  }

  get machine(): string {
    return this.state.machine;
  }

  /** Mounts the host's overlay, writes its identity, starts nspawn and waits until it is up. */
  static async boot(opts: BootOptions): Promise<LabHost> {
    const { labDir, name, link } = opts;
    const log = opts.log ?? (() => {});
    const rootfs = opts.rootfs ?? (await ensureRootfs({ log })).path;
    const hostDir = path.join(path.resolve(labDir), 'hosts', name);
    // A host left running by a crashed run would share this overlay with the new boot.
    const stale = readHostState(hostDir);
    if (stale) {
      log(`host ${name}: stopping a stale instance left by an earlier run`);
      await stopHostFromState(stale, 10_000);
    }
    const dirs = { upper: `${hostDir}/upper`, work: `${hostDir}/work`, merged: `${hostDir}/merged` };
    for (const d of Object.values(dirs)) await mkdir(d, { recursive: true });

    if (!mountPointsUnder(dirs.merged).includes(dirs.merged)) {
      await sh('mount', [
        '-t',
        'overlay',
        `edgefleet-${link.netns}`,
        '-o',
        `lowerdir=${rootfs},upperdir=${dirs.upper},workdir=${dirs.work}`,
        dirs.merged,
      ]).catch((err: unknown) => {
        throw new HostError(name, `overlay mount failed (is the overlay module available?): ${String(err)}`);
      });
    }
    let cgroups: string[] = [];
    try {
      const fingerprint = await writeIdentity(dirs.merged, name, link, opts.authorizedKey);
      const machine = link.netns;
      cgroups = await makeCgroups(machine);
      const supervisorPid = startSupervisor(hostDir, dirs.merged, machine, name, link.netns, cgroups);
      const state: HostState = {
        name,
        machine,
        netns: link.netns,
        address: link.address,
        hostDir,
        merged: dirs.merged,
        supervisorPid,
        cgroups,
      };
      await writeFile(path.join(hostDir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
      const host = new LabHost(link, state, fingerprint);
      await host.waitReady(opts.bootTimeoutMs ?? 90_000, 0);
      log(
        `host ${name} (${link.address}) up in ${(host.lastBoot.bootMs / 1000).toFixed(1)} s: ${host.lastBoot.systemState}`,
      );
      return host;
    } catch (err) {
      // A host that did not come up is torn down completely, leaving nothing mounted or running.
      const state = readHostState(hostDir);
      const teardown = state
        ? stopHostFromState(state, 5_000)
        : unmountAll(dirs.merged).then(async () => {
            for (const dir of cgroups) await removeCgroupTree(dir);
          });
      const cleanupError = await teardown.then(
        () => null,
        (e: unknown) => e,
      );
      if (cleanupError)
        throw new HostError(
          name,
          `${errorText(err)}; cleaning up after it also failed: ${errorText(cleanupError)}`,
        );
      throw err;
    }
  }

  /** SHA256 fingerprint ("SHA256:…") of the host's own ed25519 host key, for pinning in SSH clients. */
  hostKeyFingerprint(): string {
    return this.fingerprint;
  }

  cut(): Promise<void> {
    return this.link.cutLink();
  }

  restore(): Promise<void> {
    return this.link.restoreLink();
  }

  setNatOnly(on: boolean): Promise<void> {
    return this.link.setNatOnly(on);
  }

  /**
   * Runs a command inside the container (all its namespaces, as root, clean environment).
   * A string runs through /bin/sh -c. Resolves with the exit code whatever it is; rejects
   * only when the command could not be started or ran past its timeout.
   */
  async exec(cmd: readonly string[] | string, opts: ExecOptions = {}): Promise<ExecResult> {
    const leader = await this.leaderPid();
    const argv = typeof cmd === 'string' ? ['/bin/sh', '-c', cmd] : [...cmd];
    const nsenterArgs = [
      '-t',
      String(leader),
      '-a',
      '-r',
      '-w',
      'env',
      '-i',
      `PATH=${CONTAINER_PATH}`,
      'HOME=/root',
      'USER=root',
      'LANG=C.UTF-8',
      'TERM=dumb',
      ...argv,
    ];
    return runProcess('nsenter', nsenterArgs, opts, `${this.name}: ${argv.join(' ')}`);
  }

  /** exec() that rejects on a non-zero exit, with the command's stderr; resolves with stdout. */
  async run(cmd: readonly string[] | string, opts: ExecOptions = {}): Promise<string> {
    const r = await this.exec(cmd, opts);
    if (r.code !== 0) {
      const shown = typeof cmd === 'string' ? cmd : cmd.join(' ');
      throw new HostError(
        this.name,
        `\`${shown}\` exited ${r.code ?? 'by signal'}: ${r.stderr.trim() || r.stdout.trim()}`,
      );
    }
    return r.stdout;
  }

  /**
   * A real reboot: systemd inside shuts down, nspawn exits 133, the supervisor boots the same
   * overlay again. Resolves once the new boot is up (state on disk persists).
   */
  async reboot(timeoutMs = 90_000): Promise<void> {
    const before = this.nspawnPid();
    // The command may lose its connection to systemd as shutdown starts; the new nspawn is the proof.
    await this.exec(['systemctl', 'reboot'], { timeoutMs: 15_000 }).catch(() => {});
    await this.waitReady(timeoutMs, before);
  }

  /** Clean poweroff (SIGTERM to nspawn), then kill after timeoutMs; unmounts the overlay. */
  async stop(timeoutMs = 20_000): Promise<void> {
    await stopHostFromState(this.state, timeoutMs);
  }

  /**
   * Stops the hosts recorded under labDir — all of them, or those named — using only the
   * state files (for `npm run lab -- down` from another process). Resolves with their names.
   */
  static async stopFromState(
    labDir: string,
    opts: { names?: string[]; timeoutMs?: number } = {},
  ): Promise<string[]> {
    const timeoutMs = opts.timeoutMs ?? 20_000;
    const states = (await readHostStates(labDir)).filter((s) => !opts.names || opts.names.includes(s.name));
    const errors: string[] = [];
    await Promise.all(
      states.map((s) =>
        stopHostFromState(s, timeoutMs).catch((err: unknown) => {
          errors.push(`${s.name}: ${errorText(err)}`);
        }),
      ),
    );
    if (errors.length) throw new Error(`stopping lab hosts failed: ${errors.join('; ')}`);
    return states.map((s) => s.name);
  }

  /** The nspawn process of the current boot, or 0 when none is recorded. */
  private nspawnPid(): number {
    return readPidFile(path.join(this.hostDir, 'nspawn.pid'));
  }

  /** PID (in the lab machine's namespace) of the container's systemd, found as nspawn's child. */
  private async leaderPid(): Promise<number> {
    const nspawn = this.nspawnPid();
    const leader = nspawn ? findContainerLeader(nspawn) : 0;
    if (!leader) throw new HostError(this.name, 'not running (no systemd-nspawn container found)');
    return leader;
  }

  /**
   * Waits for a boot newer than `previousNspawnPid`: nspawn started, its systemd answering
   * `is-system-running` with running/degraded, sshd active and (when the link lets the lab
   * machine in) accepting on port 22.
   */
  private async waitReady(timeoutMs: number, previousNspawnPid: number): Promise<void> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    let lastAnswer = 'no container yet';
    while (Date.now() < deadline) {
      if (!isAlive(this.state.supervisorPid, this.state.merged)) {
        throw new HostError(this.name, `systemd-nspawn exited during boot; console:\n${this.consoleTail()}`);
      }
      const nspawn = this.nspawnPid();
      const leader = nspawn && nspawn !== previousNspawnPid ? findContainerLeader(nspawn) : 0;
      if (leader) {
        const r = await this.exec(['systemctl', 'is-system-running'], { timeoutMs: 10_000 }).catch(
          (err: unknown) => ({ stdout: '', stderr: String(err), code: -1 }) as ExecResult,
        );
        lastAnswer = r.stdout.trim() || r.stderr.trim();
        if (lastAnswer === 'running' || lastAnswer === 'degraded') {
          const sshd = await this.exec(['systemctl', 'is-active', 'ssh.service'], { timeoutMs: 10_000 });
          const linkOpen = this.link.status().state === 'up' && !this.link.status().natOnly;
          if (sshd.stdout.trim() === 'active' && (!linkOpen || (await tcpAccepts(this.address, 22, 1_000)))) {
            const failed =
              lastAnswer === 'degraded'
                ? (await this.run(['systemctl', '--failed', '--no-legend', '--plain']))
                    .split('\n')
                    .filter(Boolean)
                : [];
            this.lastBoot = { systemState: lastAnswer, failedUnits: failed, bootMs: Date.now() - started };
            return;
          }
          lastAnswer = `${lastAnswer}, sshd ${sshd.stdout.trim()}`;
        }
      }
      await sleep(250);
    }
    throw new HostError(
      this.name,
      `not up after ${timeoutMs / 1000} s (last answer: ${lastAnswer}); console:\n${this.consoleTail()}`,
    );
  }

  private consoleTail(): string {
    try {
      const text = readFileSync(path.join(this.hostDir, 'console.log'), 'utf8');
      return text.replace(ANSI_COLOUR, '').split('\n').slice(-25).join('\n');
    } catch {
      return '(no console log)';
    }
  }
}

/** Hostname, /etc/hosts, machine-id, host key (first boot only) and root's authorized key. */
async function writeIdentity(
  merged: string,
  name: string,
  link: HostLink,
  authorizedKey: string,
): Promise<string> {
  const at = (p: string) => path.join(merged, p);
  await writeFile(at('etc/hostname'), `${name}\n`);
  await writeFile(
    at('etc/hosts'),
    [
      '127.0.0.1 localhost',
      `127.0.1.1 ${name}`,
      `${link.address} ${name}`,
      `${link.gateway} cloud`,
      '::1 localhost ip6-localhost ip6-loopback',
      '',
    ].join('\n'),
  );
  const machineId = existsSync(at('etc/machine-id'))
    ? (await readFile(at('etc/machine-id'), 'utf8')).trim()
    : '';
  if (!/^[0-9a-f]{32}$/.test(machineId))
    await writeFile(at('etc/machine-id'), `${randomBytes(16).toString('hex')}\n`);

  const hostKey = at('etc/ssh/ssh_host_ed25519_key');
  if (!existsSync(hostKey)) {
    await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${name}`, '-f', hostKey]);
  }
  await mkdir(at('root/.ssh'), { recursive: true, mode: 0o700 });
  await chmod(at('root/.ssh'), 0o700);
  await writeFile(at('root/.ssh/authorized_keys'), `${authorizedKey.trim()}\n`, { mode: 0o600 });
  return fingerprintOfPublicKey(await readFile(`${hostKey}.pub`, 'utf8'));
}

/**
 * A cgroup of our own for each writable hierarchy nspawn uses (the named systemd v1 one and
 * cgroup2). nspawn with --keep-unit puts the container below its own cgroup; without this
 * every host would share the lab machine's root cgroup.
 */
async function makeCgroups(machine: string): Promise<string[]> {
  const roots: string[] = [];
  if (isCgroup2('/sys/fs/cgroup')) roots.push('/sys/fs/cgroup');
  else {
    if (existsSync('/sys/fs/cgroup/systemd/cgroup.procs')) roots.push('/sys/fs/cgroup/systemd');
    if (isCgroup2('/sys/fs/cgroup/unified')) roots.push('/sys/fs/cgroup/unified');
  }
  const made: string[] = [];
  for (const root of roots) {
    const dir = path.join(root, 'edgefleet', machine);
    await mkdir(dir, { recursive: true });
    made.push(dir);
  }
  return made;
}

function isCgroup2(dir: string): boolean {
  try {
    return statfsSync(dir).type === CGROUP2_MAGIC;
  } catch {
    return false;
  }
}

/**
 * The supervisor script: joins the host's cgroups, then boots nspawn again for as long as
 * it exits 133 (reboot) and no stop was asked for. $0 names the host so it can be found.
 */
const SUPERVISOR = `
for f in $EF_CGROUPS; do echo $$ > "$f/cgroup.procs" || exit 90; done
while [ ! -e "$EF_HOST_DIR/stop" ]; do
  systemd-nspawn "$@" &
  echo $! > "$EF_HOST_DIR/nspawn.pid"
  wait $!
  rc=$?
  echo "edgefleet: systemd-nspawn exited with $rc"
  [ "$rc" -eq 133 ] || exit "$rc"
done
`;

function startSupervisor(
  hostDir: string,
  merged: string,
  machine: string,
  hostname: string,
  netns: string,
  cgroups: string[],
): number {
  for (const f of ['stop', 'nspawn.pid']) rmSync(path.join(hostDir, f), { force: true });
  const nspawnArgs = [
    '-b',
    '--register=no',
    '--keep-unit',
    `--network-namespace-path=/run/netns/${netns}`,
    '-D',
    merged,
    `--machine=${machine}`,
    `--hostname=${hostname}`,
    // A host manages its own network like a real one would (ip, iptables, lo).
    '--capability=CAP_NET_ADMIN',
    // Keep the image as it is: no host resolv.conf/timezone copied in, no journal link.
    '--resolv-conf=off',
    '--timezone=off',
    '--link-journal=no',
    '--console=read-only',
  ];
  const out = openSync(path.join(hostDir, 'console.log'), 'a');
  try {
    const child = spawn('sh', ['-c', SUPERVISOR, `edgefleet-host:${merged}`, ...nspawnArgs], {
      detached: true,
      stdio: ['ignore', out, out],
      // TERM=dumb keeps colour codes out of console.log (nspawn hands TERM to the container).
      env: {
        ...process.env,
        EF_HOST_DIR: hostDir,
        EF_CGROUPS: cgroups.join(' '),
        SYSTEMD_COLORS: '0',
        TERM: 'dumb',
      },
    });
    if (!child.pid) throw new HostError(hostname, 'could not start sh for the systemd-nspawn supervisor');
    child.unref();
    return child.pid;
  } finally {
    closeSync(out);
  }
}

/** Stops a host using only its recorded state; safe to call twice. */
async function stopHostFromState(state: HostState, timeoutMs: number): Promise<void> {
  await writeFile(path.join(state.hostDir, 'stop'), '').catch(() => {});
  const nspawn = readPidFile(path.join(state.hostDir, 'nspawn.pid'));
  // SIGTERM makes nspawn ask the container's systemd for a clean poweroff.
  if (isAlive(nspawn, state.merged)) signal(nspawn, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && isAlive(state.supervisorPid, state.merged)) await sleep(100);
  if (isAlive(state.supervisorPid, state.merged) || isAlive(nspawn, state.merged)) {
    // Killing the container's init kills everything in its PID namespace.
    const leader = nspawn ? findContainerLeader(nspawn) : 0;
    for (const pid of [state.supervisorPid, nspawn, leader]) {
      if (pid && isAlive(pid, pid === leader ? '' : state.merged)) signal(pid, 'SIGKILL');
    }
    const killDeadline = Date.now() + 5_000;
    while (
      Date.now() < killDeadline &&
      (isAlive(nspawn, state.merged) || isAlive(state.supervisorPid, state.merged))
    ) {
      await sleep(100);
    }
  }
  await unmountAll(state.merged);
  for (const dir of state.cgroups) await removeCgroupTree(dir);
  for (const f of ['state.json', 'nspawn.pid', 'stop'])
    await rm(path.join(state.hostDir, f), { force: true });
}

/** Unmounts merged and anything below it; falls back to a lazy unmount so nothing stays listed. */
async function unmountAll(merged: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const mounts = mountPointsUnder(merged).sort((a, b) => b.length - a.length);
    if (!mounts.length) return;
    for (const m of mounts) await shOk('umount', [m]);
    await sleep(100);
  }
  for (const m of mountPointsUnder(merged)) await shOk('umount', ['-l', m]);
  const left = mountPointsUnder(merged);
  if (left.length) throw new Error(`could not unmount ${left.join(', ')}`);
}

async function removeCgroupTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await removeCgroupTree(path.join(dir, entry.name));
  }
  // A cgroup with processes still in it cannot go; retry briefly while they exit.
  for (let i = 0; i < 20; i++) {
    try {
      await rmdir(dir);
      break;
    } catch {
      await sleep(100);
    }
  }
  const parent = path.dirname(dir);
  if (path.basename(parent) === 'edgefleet') await rmdir(parent).catch(() => {});
}

/** For `npm run lab -- status` from another process: is the recorded host's container up? */
export function isHostRunning(state: HostState): boolean {
  const nspawn = readPidFile(path.join(state.hostDir, 'nspawn.pid'));
  return (
    isAlive(state.supervisorPid, state.merged) &&
    isAlive(nspawn, state.merged) &&
    findContainerLeader(nspawn) > 0
  );
}

export function readHostState(hostDir: string): HostState | null {
  try {
    return JSON.parse(readFileSync(path.join(hostDir, 'state.json'), 'utf8')) as HostState;
  } catch {
    return null;
  }
}

export async function readHostStates(labDir: string): Promise<HostState[]> {
  const hostsDir = path.join(path.resolve(labDir), 'hosts');
  if (!existsSync(hostsDir)) return [];
  const states: HostState[] = [];
  for (const name of await readdir(hostsDir)) {
    const s = readHostState(path.join(hostsDir, name));
    if (s) states.push(s);
  }
  return states;
}

/** Mount points at or below dir in this process's mount namespace. */
export function mountPointsUnder(dir: string): string[] {
  const base = path.resolve(dir);
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    const point = field.replace(/\\([0-7]{3})/g, (_, o: string) =>
      String.fromCharCode(Number.parseInt(o, 8)),
    );
    if (point === base || point.startsWith(`${base}/`)) out.push(point);
  }
  return out;
}

/** PIDs of processes whose command line mentions dir: nspawn, supervisors and commands of this lab. */
export function processesMentioning(dir: string): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (cmdline.includes(dir)) out.push({ pid: Number(entry), cmdline });
    } catch {
      // The process exited while we looked.
    }
  }
  return out;
}

function readPidFile(file: string): number {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}

/** Alive and not a zombie, and (guarding against PID reuse) its command line mentions `mark`. */
function isAlive(pid: number, mark: string): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) Z/.test(stat)) return false;
    return mark === '' || readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(mark);
  } catch {
    return false;
  }
}

/** The container's PID 1: a child of nspawn that is PID 1 in its own PID namespace. */
function findContainerLeader(nspawnPid: number): number {
  let children: string[] = [];
  try {
    children = readdirSync(`/proc/${nspawnPid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${nspawnPid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean),
    );
  } catch {
    return 0;
  }
  for (const child of children) {
    try {
      const status = readFileSync(`/proc/${child}/status`, 'utf8');
      const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
      if (nspid.length > 1 && nspid[nspid.length - 1] === '1') return Number(child);
    } catch {
      // Gone between listing and reading.
    }
  }
  return 0;
}

function tcpAccepts(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function runProcess(file: string, args: string[], opts: ExecOptions, label: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => stdout.push(b));
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new HostError(label.split(':')[0] ?? label, `\`${label}\` timed out after ${opts.timeoutMs} ms`),
      );
    }, opts.timeoutMs ?? 60_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new HostError(label.split(':')[0] ?? label, `could not run nsenter: ${err.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        code,
      });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Sends a signal; a process that exited in the meantime is not an error. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
