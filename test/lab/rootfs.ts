import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sh } from './sh.ts';
import { cacheRoot } from './toolchain.ts';

/**
 * The lab hosts' Debian root filesystem: made once with debootstrap and cached outside the
 * repo, then used read-only as the lower layer of every host's overlay.
 */

/** Packages beyond minbase: what boots systemd and sshd, and what provisioning tests use. */
export const ROOTFS_PACKAGES: readonly string[] = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'openssh-server',
  'iproute2',
  'iptables',
  'iputils-ping',
  'sudo',
  'procps',
  'ca-certificates',
  'curl',
  'tar',
  'gzip',
  'coreutils',
  'less',
];

/**
 * Bump when postSetup() changes what it writes, so old caches are not reused. Part of the
 * cache key together with the suite and the package list.
 */
const SETUP_VERSION = '1';

/** Written last into a finished rootfs; a directory without it is never used. */
const COMPLETE_MARKER = '.edgefleet-rootfs-complete';

/**
 * Units that cannot work in a container without hardware, a console or a real clock, or
 * that only add boot time and background load to a test host. Masked so the host boots
 * to "running" instead of "degraded".
 */
const MASKED_UNITS: readonly string[] = [
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'e2scrub_all.timer',
  'e2scrub_reap.service',
  'fstrim.timer',
  'systemd-timesyncd.service',
  'systemd-networkd-wait-online.service',
  'getty@tty1.service',
  'serial-getty@.service',
  'systemd-hwdb-update.service',
  'sys-kernel-debug.mount',
  'sys-kernel-tracing.mount',
  'sys-kernel-config.mount',
  'sys-fs-fuse-connections.mount',
  'systemd-remount-fs.service',
  'systemd-journald-audit.socket',
];

export interface AptSource {
  mirror: string;
  suite: string;
}

export interface RootfsInfo {
  path: string;
  suite: string;
  mirror: string;
  /** True when this call ran debootstrap (a cold build), false for a cache hit. */
  built: boolean;
  buildMs: number;
}

export class RootfsError extends Error {
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(`${message} — ${hint}`);
    this.name = 'RootfsError';
    this.hint = hint;
  }
}

/**
 * The machine's main Debian archive: the first `deb` entry whose suite has no "-" suffix
 * (so not -updates or -security). Reads deb822 .sources files first, then sources.list.
 */
export async function readAptSource(aptDir = '/etc/apt'): Promise<AptSource> {
  const candidates: AptSource[] = [];
  const dir = path.join(aptDir, 'sources.list.d');
  const files = existsSync(dir) ? (await readdir(dir)).sort() : [];
  for (const f of files.filter((n) => n.endsWith('.sources'))) {
    candidates.push(...parseDeb822Sources(await readFile(path.join(dir, f), 'utf8')));
  }
  const lists = [
    path.join(aptDir, 'sources.list'),
    ...files.filter((n) => n.endsWith('.list')).map((n) => path.join(dir, n)),
  ];
  for (const f of lists) {
    if (existsSync(f)) candidates.push(...parseSourcesList(await readFile(f, 'utf8')));
  }
  const main = candidates.find((c) => !c.suite.includes('-') && !c.suite.includes('/'));
  if (!main) {
    throw new RootfsError(
      `no Debian archive found in ${aptDir}/sources.list.d/*.sources or ${aptDir}/sources.list`,
      'add a `deb http://deb.debian.org/debian <suite> main` source',
    );
  }
  return main;
}

export function parseDeb822Sources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m?.[1] && m[2] !== undefined) fields.set(m[1].toLowerCase(), m[2].trim());
    }
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
    if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const uris = (fields.get('uris') ?? '').split(/\s+/).filter(Boolean);
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
    for (const mirror of uris) for (const suite of suites) out.push({ mirror, suite });
  }
  return out;
}

export function parseSourcesList(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    // deb [options] uri suite components...
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m?.[1] && m[2]) out.push({ mirror: m[1], suite: m[2] });
  }
  return out;
}

export function rootfsCacheKey(suite: string, packages: readonly string[] = ROOTFS_PACKAGES): string {
  const hash = createHash('sha256')
    .update([SETUP_VERSION, ...[...packages].sort()].join('\n'))
    .digest('hex')
    .slice(0, 12);
  return `${suite}-${hash}`;
}

/**
 * Returns the cached rootfs, building it first if needed. The build goes to a temporary
 * sibling directory that is renamed into place only once complete, so a crash mid-build
 * never leaves something that looks usable.
 */
export function ensureRootfs(opts: { log?: (line: string) => void } = {}): Promise<RootfsInfo> {
  // Hosts booted in parallel share one build instead of racing for the same temp directory.
  inFlight ??= buildOrReuse(opts).finally(() => {
    inFlight = undefined;
  });
  return inFlight;
}

let inFlight: Promise<RootfsInfo> | undefined;

async function buildOrReuse(opts: { log?: (line: string) => void }): Promise<RootfsInfo> {
  const log = opts.log ?? (() => {});
  const { mirror, suite } = await readAptSource();
  const root = path.join(cacheRoot(), 'rootfs');
  const final = path.join(root, rootfsCacheKey(suite));
  if (existsSync(path.join(final, COMPLETE_MARKER)))
    return { path: final, suite, mirror, built: false, buildMs: 0 };

  await requireTool('debootstrap', 'apt-get install debootstrap');
  await mkdir(root, { recursive: true });
  await removeStaleBuilds(root);
  const started = Date.now();
  const tmp = `${final}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  log(`building Debian ${suite} rootfs from ${mirror} (once; cached at ${final})`);
  try {
    await sh(
      'debootstrap',
      [
        '--variant=minbase',
        `--include=${ROOTFS_PACKAGES.join(',')}`,
        `--cache-dir=${await debCacheDir()}`,
        suite,
        tmp,
        mirror,
      ],
      { timeoutMs: 30 * 60_000 },
    );
    await postSetup(tmp);
    await writeFile(path.join(tmp, COMPLETE_MARKER), `${new Date().toISOString()} ${suite} ${mirror}\n`);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw new RootfsError(
      `debootstrap of Debian ${suite} from ${mirror} failed: ${err instanceof Error ? err.message : String(err)}`,
      'check that the mirror is reachable and the disk has ~500 MB free',
    );
  }
  try {
    await rename(tmp, final);
  } catch (err) {
    // Another process finished the same build first: keep its copy, drop ours.
    await rm(tmp, { recursive: true, force: true });
    if (!existsSync(path.join(final, COMPLETE_MARKER))) throw err;
  }
  const buildMs = Date.now() - started;
  log(`rootfs built in ${(buildMs / 1000).toFixed(1)} s`);
  return { path: final, suite, mirror, built: true, buildMs };
}

/** Downloaded .debs are kept apart from the rootfs so a rebuild (new package list) is quicker. */
async function debCacheDir(): Promise<string> {
  const dir = path.join(cacheRoot(), 'debootstrap-debs');
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Removes `*.tmp-<pid>` builds whose process is gone (a crash or Ctrl-C mid-build). */
async function removeStaleBuilds(root: string): Promise<void> {
  for (const name of await readdir(root)) {
    const m = /\.tmp-(\d+)$/.exec(name);
    if (!m) continue;
    if (existsSync(`/proc/${m[1]}`) && Number(m[1]) !== process.pid) continue;
    await rm(path.join(root, name), { recursive: true, force: true });
  }
}

async function requireTool(tool: string, install: string): Promise<void> {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (existsSync(path.join(dir, tool))) return;
  }
  throw new RootfsError(`${tool} is not installed`, `install it with \`${install}\``);
}

/** Makes the fresh debootstrap tree a good container host image; see MASKED_UNITS. */
async function postSetup(rootDir: string): Promise<void> {
  const inRoot = (...p: string[]) => path.join(rootDir, ...p);
  const chroot = (...args: string[]) => sh('chroot', [rootDir, ...args]);

  await chroot('systemctl', 'enable', 'ssh.service');
  await chroot('systemctl', 'set-default', 'multi-user.target');
  for (const unit of MASKED_UNITS) {
    await sh('ln', ['-sfn', '/dev/null', inRoot('etc/systemd/system', unit)]);
  }

  // Root has no password (debootstrap leaves it locked as "*"): only the lab key logs in.
  await chroot('passwd', '--lock', 'root');
  await writeFile(
    inRoot('etc/ssh/sshd_config.d/edgefleet-lab.conf'),
    [
      '# EdgeFleet lab host: key-only root login, one per-host ed25519 host key.',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UseDNS no',
      'HostKey /etc/ssh/ssh_host_ed25519_key',
      '',
    ].join('\n'),
  );
  // Host keys are per host (made at first boot of each overlay), never shared via the image.
  for (const f of await readdir(inRoot('etc/ssh'))) {
    if (f.startsWith('ssh_host_')) await rm(inRoot('etc/ssh', f));
  }
  // Each host gets its own machine-id; an empty file makes systemd treat it as set at boot.
  await writeFile(inRoot('etc/machine-id'), '');
  await rm(inRoot('var/lib/dbus/machine-id'), { force: true });
  // Journald to memory only: quick boots and nothing piling up in the overlay.
  await mkdir(inRoot('etc/systemd/journald.conf.d'), { recursive: true });
  await writeFile(inRoot('etc/systemd/journald.conf.d/edgefleet-lab.conf'), '[Journal]\nStorage=volatile\n');
  await rm(inRoot('var/cache/apt/archives'), { recursive: true, force: true });
  await mkdir(inRoot('var/cache/apt/archives/partial'), { recursive: true });
}
