import { spawn } from 'node:child_process';
import { accessSync, appendFileSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sh } from './sh.ts';

/**
 * The one place the lab's versions are pinned. Kubernetes 1.36 pins etcd 3.6.x in its
 * build/dependencies.yaml (Debian's etcd-server 3.4 is too old for it), so etcd is built too.
 */
export const PINS = {
  KUBE_VERSION: 'v1.36.3',
  ETCD_VERSION: 'v3.6.8',
  KWOK_VERSION: 'v0.8.0',
} as const;

export interface Pins {
  KUBE_VERSION: string;
  ETCD_VERSION: string;
  KWOK_VERSION: string;
}

/** Minimum Go the pinned Kubernetes builds with (its go.mod `go` line). */
export const MIN_GO = { major: 1, minor: 26 } as const;

/** Debian packages the cluster part of the lab needs on the machine (setpriv is in util-linux). */
export const CLUSTER_DEBIAN_PACKAGES = ['openssl', 'util-linux'] as const;

/** Every Debian package the lab and tests need: the list scripts/env.sh installs. */
export function labDebianPackages(): string[] {
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'debian-packages.txt');
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** A missing piece of the machine, said in one line with how to get it. */
export class LabPrerequisiteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabPrerequisiteError';
  }
}

export interface LabBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubelet: string;
  kubectl: string;
  kwok: string;
  /** kwok's stage files (node init, lease heartbeat, pod lifecycle), passed to kwok as --config. */
  kwokStages: string[];
}

const BIN_FILES = {
  etcd: 'etcd',
  kubeApiserver: 'kube-apiserver',
  kubeControllerManager: 'kube-controller-manager',
  kubeScheduler: 'kube-scheduler',
  kubelet: 'kubelet',
  kubectl: 'kubectl',
  kwok: 'kwok',
} as const;

export const KWOK_STAGE_FILES = [
  'node-initialize.yaml',
  'node-heartbeat-with-lease.yaml',
  'pod-ready.yaml',
  'pod-complete.yaml',
  'pod-delete.yaml',
] as const;

// From the repo root, which is two levels up both from this source file and from the bundled
// out/main/main.js (the script itself is not bundled, so a path beside the module would miss it).
const BUILD_SCRIPT = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'src-main',
  'demo',
  'toolchain',
  'build-binaries.sh',
);

/** Where built binaries and other lab downloads live, outside the repo. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.EDGEFLEET_CACHE || join(homedir(), '.cache', 'edgefleet');
}

/** The version-keyed binary directory: a new pin gets a new directory, old ones stay usable. */
export function binDir(pins: Pins = PINS, env: NodeJS.ProcessEnv = process.env): string {
  return join(
    cacheRoot(env),
    'bin',
    `k8s-${pins.KUBE_VERSION}-etcd-${pins.ETCD_VERSION}-kwok-${pins.KWOK_VERSION}`,
  );
}

function binariesIn(dir: string): LabBinaries {
  const out = {} as Record<keyof typeof BIN_FILES, string>;
  for (const [key, file] of Object.entries(BIN_FILES) as [keyof typeof BIN_FILES, string][]) {
    out[key] = join(dir, file);
  }
  return { ...out, kwokStages: KWOK_STAGE_FILES.map((f) => join(dir, 'kwok-stages', f)) };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function missingFiles(bins: LabBinaries): string[] {
  const missing: string[] = [];
  for (const key of Object.keys(BIN_FILES) as (keyof typeof BIN_FILES)[]) {
    if (!isExecutable(bins[key])) missing.push(BIN_FILES[key]);
  }
  if (!bins.kwokStages.every((f) => existsSync(f))) missing.push('kwok-stages');
  return missing;
}

/** Which of the pinned binaries are not built yet (empty: a start needs no build). */
export function missingBinaries(pins: Pins = PINS): string[] {
  return missingFiles(binariesIn(binDir(pins)));
}

/** Finds an executable on a PATH string (not necessarily this process's PATH). */
export function findOnPath(name: string, pathEnv: string | undefined): string | undefined {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

const GO_HINT = `install Go >= ${MIN_GO.major}.${MIN_GO.minor} (/usr/local/go/bin on PATH)`;

/** Returns the `go` binary on the given PATH, or throws one line saying how to get Go. */
export async function checkGoToolchain(pathEnv: string | undefined = process.env.PATH): Promise<string> {
  const go = findOnPath('go', pathEnv);
  if (!go) throw new LabPrerequisiteError(`Go toolchain not found: ${GO_HINT}`);
  const out = await sh(go, ['version'], { env: { ...process.env, PATH: pathEnv } }).catch((e: unknown) => {
    throw new LabPrerequisiteError(`Go toolchain at ${go} does not run (${String(e)}): ${GO_HINT}`);
  });
  const m = /go(\d+)\.(\d+)/.exec(out);
  const major = Number(m?.[1] ?? 0);
  const minor = Number(m?.[2] ?? 0);
  if (major < MIN_GO.major || (major === MIN_GO.major && minor < MIN_GO.minor)) {
    throw new LabPrerequisiteError(`Go toolchain at ${go} is too old (${out.trim()}): ${GO_HINT}`);
  }
  return go;
}

/**
 * Asks the Go module proxy whether the pinned Kubernetes release exists (one small request,
 * nothing is downloaded but the .info file), so a typo fails before a long build.
 */
export async function checkKubernetesPin(version: string, go: string): Promise<void> {
  const fix = 'set a released 1.36.x in src-main/demo/toolchain.ts';
  if (!/^v\d+\.\d+\.\d+$/.test(version)) {
    throw new LabPrerequisiteError(
      `Kubernetes version pin ${version} is not a release version (vMAJOR.MINOR.PATCH): ${fix}`,
    );
  }
  try {
    await sh(go, ['list', '-m', '-json', `k8s.io/kubernetes@${version}`], {
      cwd: cacheRootForGo(),
      timeoutMs: 60_000,
      env: { ...process.env, GOFLAGS: '-mod=mod', GO111MODULE: 'on' },
    });
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    if (/not available|unknown revision|invalid version|404|410|403/.test(reason)) {
      throw new LabPrerequisiteError(
        `Kubernetes version pin ${version} is not available from the Go module proxy: ${fix}`,
      );
    }
    throw new LabPrerequisiteError(
      `cannot ask the Go module proxy about Kubernetes ${version} (${reason.split('\n')[0]}): check GOPROXY and network access`,
    );
  }
}

// `go list -m` must not run inside some unrelated module (it would resolve against its go.mod).
function cacheRootForGo(): string {
  return homedir();
}

/** Checks that every package is installed per dpkg; throws one line naming all missing ones. */
export async function checkDebianPackages(packages: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const pkg of packages) {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, not a JS template
    const status = await sh('dpkg-query', ['-W', '-f=${Status}', pkg]).catch(() => '');
    if (!/\binstall ok installed\b/.test(status)) missing.push(pkg);
  }
  if (missing.length > 0) {
    throw new LabPrerequisiteError(
      `missing Debian package(s) ${missing.join(', ')}: run apt-get install -y ${missing.join(' ')}`,
    );
  }
}

export interface PrerequisiteOptions {
  pins?: Pins;
  /** PATH to look for `go` on; defaults to this process's PATH. */
  pathEnv?: string;
  debianPackages?: readonly string[];
  /** Also check what a build needs (Go, the pin). Not needed when binaries are cached. */
  forBuild?: boolean;
}

/** Everything the lab's cluster needs from the machine; throws LabPrerequisiteError (one line). */
export async function checkPrerequisites(opts: PrerequisiteOptions = {}): Promise<{ go?: string }> {
  await checkDebianPackages(opts.debianPackages ?? CLUSTER_DEBIAN_PACKAGES);
  if (!opts.forBuild) return {};
  const go = await checkGoToolchain(opts.pathEnv ?? process.env.PATH);
  await checkKubernetesPin((opts.pins ?? PINS).KUBE_VERSION, go);
  return { go };
}

export interface EnsureBinariesOptions {
  pathEnv?: string;
  debianPackages?: readonly string[];
  /** Progress lines (defaults to stderr). */
  log?: (line: string) => void;
  /** Every line the build prints also goes here (appended), so a failure can point at it. */
  buildLogPath?: string;
  /** Aborting kills the build (its whole process group) and rejects; the next start resumes it. */
  signal?: AbortSignal;
}

/**
 * Returns absolute paths of the lab's binaries, building the missing ones from the Go module
 * proxy first (minutes, once per pin set); with everything cached this only stats files.
 */
export async function ensureBinaries(
  pins: Pins = PINS,
  opts: EnsureBinariesOptions = {},
): Promise<LabBinaries> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = binDir(pins);
  const bins = binariesIn(dir);
  const missing = missingFiles(bins);
  await checkPrerequisites({
    pins,
    pathEnv: opts.pathEnv,
    debianPackages: opts.debianPackages,
    forBuild: missing.length > 0,
  });
  if (missing.length === 0) return bins;

  const go = await checkGoToolchain(opts.pathEnv ?? process.env.PATH);
  log(`[lab] building ${missing.join(', ')} into ${dir} (first run for these pins takes several minutes)`);
  const started = Date.now();
  await runBuildScript(pins, dir, go, opts.pathEnv ?? process.env.PATH, log, opts.buildLogPath, opts.signal);
  const still = missingFiles(bins);
  if (still.length > 0) {
    throw new LabPrerequisiteError(
      `build finished but ${still.join(', ')} missing in ${dir}: rerun bash ${BUILD_SCRIPT} ${pins.KUBE_VERSION} ${pins.ETCD_VERSION} ${pins.KWOK_VERSION} ${dir} to see why`,
    );
  }
  log(`[lab] binaries ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return bins;
}

function runBuildScript(
  pins: Pins,
  dir: string,
  go: string,
  pathEnv: string | undefined,
  log: (l: string) => void,
  buildLogPath: string | undefined,
  signal: AbortSignal | undefined,
) {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('lab binary build aborted'));
    if (buildLogPath) mkdirSync(dirname(buildLogPath), { recursive: true });
    // flock: a second lab started during a build waits for it instead of building the same files.
    mkdirSync(dirname(dir), { recursive: true });
    const args = [
      `${dir}.lock`,
      'bash',
      BUILD_SCRIPT,
      pins.KUBE_VERSION,
      pins.ETCD_VERSION,
      pins.KWOK_VERSION,
      dir,
    ];
    const child = spawn('flock', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, PATH: [dirname(go), pathEnv ?? ''].join(delimiter) },
      // Abortable builds get their own process group, so one kill reaches bash and every go child.
      detached: signal !== undefined,
    });
    const killGroup = () => {
      if (child.pid !== undefined && child.exitCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    };
    if (signal) {
      signal.addEventListener('abort', killGroup, { once: true });
      // An app that exits mid-build must not leave go compilers behind.
      process.once('exit', killGroup);
      child.once('exit', () => {
        signal.removeEventListener('abort', killGroup);
        process.off('exit', killGroup);
      });
    }
    const tail: string[] = [];
    let partial = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        if (buildLogPath) appendFileSync(buildLogPath, `${line}\n`);
        if (line.startsWith('[build]')) log(`[lab] ${line}`);
      }
    });
    child.on('error', (e) => reject(new LabPrerequisiteError(`cannot run ${BUILD_SCRIPT}: ${e.message}`)));
    child.on('exit', (code, exitSignal) => {
      if (code === 0) return resolve();
      if (signal?.aborted) return reject(new Error('lab binary build aborted'));
      const last = tail
        .filter((l) => l.trim())
        .slice(-3)
        .join(' | ');
      const where = buildLogPath ? ` (full log: ${buildLogPath})` : '';
      reject(new Error(`lab binary build failed (${exitSignal ?? `exit ${code}`}): ${last}${where}`));
    });
  });
}
