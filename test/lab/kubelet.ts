import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mountPointsUnder } from './host.ts';
import { ensureLabImages, importImages, type LabImage, PAUSE_IMAGE } from './images.ts';
import type { HostLink } from './net.ts';
import { type CertPaths, kubeconfigYaml } from './pki.ts';
import { logTail } from './proc.ts';
import { sh, shOk } from './sh.ts';

/**
 * A real Kubernetes node on the lab machine: containerd + runc + CNI (Debian packages) and the
 * lab's kubelet, all inside one lab host's network namespace (ARCHITECTURE.md §7: runc cannot
 * create cgroups inside systemd-nspawn here, so this node is not an nspawn host).
 *
 * Isolation from the machine, without a container of its own:
 * - network: the HostLink's namespace (node IP = link.address); pods on a `cni0` bridge in it.
 * - mounts: a private mount namespace (slave of the host's), held by a "holder" process that
 *   containerd and kubelet join. Every mount they make (container rootfs overlays, volume tmpfs,
 *   pod netns bind mounts, kept under containerd's state dir) lives only there and is gone when
 *   the last process in it ends: nothing to unmount on the host even after a crash.
 * - kernel tunables: kubelet insists on vm.overcommit_memory=1, kernel.panic_on_oops=1, ... and
 *   would write them machine-wide. In the private mount namespace the /proc/sys files it checks
 *   are bind-mounted over with the values it expects, and protectKernelDefaults makes kubelet fail
 *   rather than write if that ever stops working. The machine's settings are never changed.
 * - cgroups (v1, cgroupfs driver): everything under one cgroup root per node, `/<netns name>`.
 * - state: containerd root/state/socket, runc root, kubelet root/pod logs, CNI IPAM data all under
 *   `<labDir>/kubelet-<name>/`; images come from ./images.ts and are never pulled.
 */

export interface KubeletNodeOptions {
  /** The lab's directory; the node keeps everything in `<labDir>/kubelet-<name>/`. */
  labDir: string;
  /** Node name (also the kubelet's --hostname-override). */
  name: string;
  /** The lab host network namespace the node lives in. */
  link: HostLink;
  /** API server URL reachable from the node's namespace (the lab gateway address). */
  apiServerUrl: string;
  /**
   * Where kubelet itself sends API requests when that is not `apiServerUrl` — e.g. a node hub
   * (`http://127.0.0.1:10261` inside the node's namespace, started with `spawnInside`). A plain
   * `http://` server gets a kubeconfig without credentials (the hub authenticates as the node);
   * `kubeconfigPath` keeps the node's own identity against `apiServerUrl`. Needs `clientCert`.
   */
  kubeletServer?: string;
  /** The cluster CA: trusted for the API server and for clients of the kubelet API (x509 authn). */
  caCertPath: string;
  /**
   * How kubelet authenticates: a client certificate already issued for
   * CN=system:node:<name>,O=system:nodes (see `nodeClientCertRequest`), or a bootstrap token
   * (`<id>.<secret>`) for TLS bootstrapping through a CSR.
   */
  credentials: { clientCert: CertPaths } | { bootstrapToken: string };
  kubeletBin: string;
  /** kubectl of the same version; default: next to kubeletBin. */
  kubectlBin?: string;
  /**
   * Fixed pod range for the CNI config. Default: the node's spec.podCIDR from the controller
   * manager, which kubelet passes to containerd (CRI UpdateRuntimeConfig) to render the template.
   */
  podCidr?: string;
  /** Images imported into containerd; default: every lab image (pause + lab-app). */
  images?: readonly LabImage[];
  /** Keep running after this Node process exits (`npm run lab -- up`); stop with KubeletNode.stopFromState. */
  detached?: boolean;
  /**
   * kubelet's --v (default 2). 4 adds the housekeeping lines ("SyncLoop (housekeeping) end") that
   * show kubelet compared its pod list with what runs, and acted on it.
   */
  verbosity?: number;
  /** Wait until the Node is Ready before resolving (default true). */
  waitReady?: boolean;
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

/** What another process needs to find and stop this node (`<nodeDir>/kubelet-node.json`). */
export interface KubeletNodeState {
  name: string;
  nodeDir: string;
  netns: string;
  address: string;
  cgroupRoot: string;
  containerdSocket: string;
  kubeconfigPath: string;
  /** `mnt:[inode]` of the node's private mount namespace: finds shims even after the holder died. */
  mountNamespace: string;
  processes: NodeProcessRecord[];
  startedAt: string;
  /** Started to outlive its creator (restarts keep it that way). */
  detached?: boolean;
}

interface NodeProcessRecord {
  /** 'holder' | 'containerd' | 'kubelet', or a program a test runs inside the node (`spawnInside`). */
  name: string;
  pid: number;
  /** The program the PID must still be running (argv[0] after nsenter/unshare exec'ed it). */
  exe: string;
  logPath: string;
  /** Its arguments, so restartKubelet/reboot can start it again the same way. */
  args?: string[];
}

/** Programs of the node itself; anything else in the process list was started with `spawnInside`. */
const NODE_PROGRAMS: readonly string[] = ['holder', 'containerd', 'kubelet'];

/** A node or one of its programs failed; carries the log path and its last lines. */
export class KubeletNodeError extends Error {
  readonly logPath: string | undefined;
  constructor(message: string, logPath?: string) {
    super(logPath ? `${message}\n--- ${logPath} (last lines) ---\n${logTail(logPath, 15)}` : message);
    this.name = 'KubeletNodeError';
    this.logPath = logPath;
  }
}

const STATE_FILE = 'kubelet-node.json';
const CONTAINERD = '/usr/bin/containerd';
const RUNC = '/usr/sbin/runc';
const CNI_BIN_DIR = '/usr/lib/cni';
const CGROUP_FS = '/sys/fs/cgroup';
/** unix socket paths must fit sockaddr_un (108 bytes including the NUL). */
const MAX_SOCKET_PATH = 100;

/**
 * Kernel settings kubelet requires (pkg/kubelet/cm setupKernelTunables): shown to it, inside its
 * mount namespace only, by bind-mounting files with these values over /proc/sys.
 */
const KUBELET_KERNEL_TUNABLES: Record<string, string> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};

/**
 * kube-apiserver reaches kubelets (logs, exec) by the first address type listed here. Its default
 * tries Hostname first, and lab node names do not resolve, so the cluster must prefer InternalIP.
 */

/** The client certificate request a kubelet's node identity needs (for Pki.issueClientCert). */
export function nodeClientCertRequest(name: string): { commonName: string; organizations: string[] } {
  return { commonName: `system:node:${name}`, organizations: ['system:nodes'] };
}

export class KubeletNode {
  readonly name: string;
  readonly nodeDir: string;
  readonly link: HostLink | undefined;
  readonly address: string;
  readonly netns: string;
  /** kubeconfig with the node's identity (after TLS bootstrap: kubelet's rotated cert). */
  readonly kubeconfigPath: string;
  readonly containerdSocket: string;
  readonly cgroupRoot: string;
  readonly logDir: string;
  private state: KubeletNodeState;
  private readonly children = new Map<number, ChildProcess>();

  private constructor(state: KubeletNodeState, link?: HostLink) {
    this.state = state;
    this.name = state.name;
    this.nodeDir = state.nodeDir;
    this.link = link;
    this.address = state.address;
    this.netns = state.netns;
    this.kubeconfigPath = state.kubeconfigPath;
    this.containerdSocket = state.containerdSocket;
    this.cgroupRoot = state.cgroupRoot;
    this.logDir = join(state.nodeDir, 'logs');
  }

  static async start(opts: KubeletNodeOptions): Promise<KubeletNode> {
    const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const t0 = Date.now();
    if (!/^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/.test(opts.name)) {
      throw new KubeletNodeError(`node name "${opts.name}" must be a DNS label (lowercase, digits, dashes)`);
    }
    for (const bin of [CONTAINERD, RUNC, join(CNI_BIN_DIR, 'bridge'), '/usr/bin/ctr']) {
      if (!existsSync(bin)) {
        throw new KubeletNodeError(
          `${bin} is missing: the kubelet node needs Debian's containerd, runc and containernetworking-plugins (apt-get install containerd runc containernetworking-plugins)`,
        );
      }
    }
    const nodeDir = join(opts.labDir, `kubelet-${opts.name}`);
    if (existsSync(join(nodeDir, STATE_FILE))) await KubeletNode.stopFromState(nodeDir, log);
    const paths = nodePaths(nodeDir);
    if (paths.containerdSocket.length > MAX_SOCKET_PATH) {
      throw new KubeletNodeError(
        `containerd socket path ${paths.containerdSocket} is longer than ${MAX_SOCKET_PATH} bytes (unix socket limit): use a shorter lab directory`,
      );
    }
    for (const d of [
      paths.logs,
      paths.containerdRoot,
      paths.containerdState,
      paths.runcRoot,
      paths.cniConf,
    ]) {
      await mkdir(d, { recursive: true });
    }
    await mkdir(paths.kubeletRoot, { recursive: true });
    await mkdir(paths.podLogs, { recursive: true });
    const kubectlBin = opts.kubectlBin ?? join(dirname(opts.kubeletBin), 'kubectl');
    const images = opts.images ?? (await ensureLabImages());
    const cgroupRoot = `/${opts.link.netns}`;

    const node = new KubeletNode(
      {
        name: opts.name,
        nodeDir,
        netns: opts.link.netns,
        address: opts.link.address,
        cgroupRoot,
        containerdSocket: paths.containerdSocket,
        kubeconfigPath: paths.kubeconfig,
        mountNamespace: '',
        processes: [],
        startedAt: new Date(t0).toISOString(),
        detached: opts.detached ?? false,
      },
      opts.link,
    );
    try {
      await createCgroupRoot(cgroupRoot);
      await writeConfigs(paths, opts, cgroupRoot);
      await node.startHolder(opts.detached ?? false);
      await node.fakeKernelTunables();
      const containerd = await node.spawnInNode(
        'containerd',
        CONTAINERD,
        ['--config', paths.containerdConfig],
        opts,
      );
      await node.waitFor('containerd to serve its socket', 30_000, [containerd], async () =>
        shOk('ctr', ['-a', paths.containerdSocket, 'version'], { timeoutMs: 5_000 }),
      );
      await importImages(paths.containerdSocket, images);
      const kubelet = await node.spawnInNode('kubelet', opts.kubeletBin, kubeletArgs(paths, opts), opts);
      log(`[lab] kubelet node ${opts.name} started at ${opts.link.address} (logs in ${paths.logs})`);
      if (opts.waitReady ?? true) {
        await node.waitFor(
          `node ${opts.name} to become Ready`,
          opts.readyTimeoutMs ?? 120_000,
          [containerd, kubelet],
          () => node.isReady(kubectlBin),
        );
        log(`[lab] node ${opts.name} Ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      }
      return node;
    } catch (err) {
      await node.stop().catch((e: Error) => log(`[lab] cleanup after failed node start: ${e.message}`));
      throw err;
    }
  }

  /** Re-opens a node another process started (for status and stop). */
  static async attach(nodeDir: string): Promise<KubeletNode> {
    const path = join(nodeDir, STATE_FILE);
    if (!existsSync(path))
      throw new KubeletNodeError(`no kubelet node state in ${nodeDir} (${STATE_FILE} missing)`);
    return new KubeletNode(JSON.parse(await readFile(path, 'utf8')) as KubeletNodeState);
  }

  /** Stops whatever a (possibly other, possibly dead) process started in `nodeDir`; no-op if nothing is there. */
  static async stopFromState(nodeDir: string, log?: (line: string) => void): Promise<void> {
    if (!existsSync(join(nodeDir, STATE_FILE))) return;
    const node = await KubeletNode.attach(nodeDir);
    await node.stop(log);
  }

  /** Node directories under a lab directory (for `npm run lab -- down`). */
  static findNodeDirs(labDir: string): string[] {
    if (!existsSync(labDir)) return [];
    return readdirSync(labDir)
      .filter((d) => d.startsWith('kubelet-') && existsSync(join(labDir, d, STATE_FILE)))
      .map((d) => join(labDir, d));
  }

  /** PIDs of every process of this node still alive: its programs, shims, and pod processes. */
  livePids(): number[] {
    const pids = new Set<number>();
    for (const p of this.state.processes) if (pidRunsExe(p)) pids.add(p.pid);
    if (this.state.mountNamespace)
      for (const pid of pidsInMountNamespace(this.state.mountNamespace)) pids.add(pid);
    for (const pid of pidsInCgroupTree(this.cgroupRoot)) pids.add(pid);
    return [...pids].sort((a, b) => a - b);
  }

  /**
   * Stops the node and leaves nothing: kubelet first (so it restarts nothing), then every
   * container gets SIGTERM and a grace period, then containerd, shims and the holder; with the
   * last process the private mount namespace and all mounts in it vanish. Then the CNI bridge and
   * its iptables chains in the node's namespace, the cgroup tree and the data directories go.
   * Logs stay in `<nodeDir>/logs`. Safe to call twice and after a partial start.
   */
  async stop(log?: (line: string) => void): Promise<void> {
    const errors: string[] = [];
    await this.shutdown(10_000, errors);

    if (existsSync(`/run/netns/${this.netns}`)) {
      await removeCniNetworkObjects(this.netns).catch((e: Error) => errors.push(`CNI cleanup: ${e.message}`));
    }
    await removeCgroupTree(this.cgroupRoot).catch((e: Error) => errors.push(`cgroups: ${e.message}`));
    await removeShimSockets(nodePaths(this.nodeDir).containerdState).catch((e: Error) =>
      errors.push(`shim sockets: ${e.message}`),
    );
    const mounts = mountPointsUnder(this.nodeDir);
    if (mounts.length > 0) errors.push(`mounts left under ${this.nodeDir}: ${mounts.join(', ')}`);
    else {
      const paths = nodePaths(this.nodeDir);
      for (const d of [paths.containerdDir, paths.kubeletRoot, paths.cniDir, paths.procSysDir]) {
        await rm(d, { recursive: true, force: true }).catch((e: Error) =>
          errors.push(`removing ${d}: ${e.message}`),
        );
      }
    }
    if (errors.length > 0) {
      throw new KubeletNodeError(`stopping kubelet node ${this.name} left work undone: ${errors.join('; ')}`);
    }
    await rm(join(this.nodeDir, STATE_FILE), { force: true });
    this.state.processes = [];
    log?.(`[lab] kubelet node ${this.name} stopped`);
  }

  /** Runs kubectl with the node's own identity (what the node may see: itself, its pods). */
  async isReady(kubectlBin: string): Promise<boolean> {
    if (!existsSync(this.kubeconfigPath)) return false; // TLS bootstrap not finished yet
    const out = await sh(
      kubectlBin,
      [
        `--kubeconfig=${this.kubeconfigPath}`,
        'get',
        'node',
        this.name,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      ],
      { timeoutMs: 10_000 },
    );
    return out.trim() === 'True';
  }

  /**
   * Every process of the node ends: programs started with `spawnInside` (last started first) and
   * kubelet get SIGTERM, containers SIGTERM then SIGKILL after `containerGraceMs`, then containerd,
   * shims and the holder — with it the private mount namespace and every mount in it.
   */
  private async shutdown(containerGraceMs: number, errors: string[]): Promise<void> {
    const proc = (name: string) => this.state.processes.find((p) => p.name === name);
    for (const extra of this.state.processes.filter((p) => !NODE_PROGRAMS.includes(p.name)).reverse())
      await this.terminate(extra, 10_000);
    const kubelet = proc('kubelet');
    if (kubelet) await this.terminate(kubelet, 10_000);
    const containerd = proc('containerd');
    if (containerd && pidRunsExe(containerd)) {
      await this.stopContainers(containerGraceMs).catch((e: Error) =>
        errors.push(`stopping containers: ${e.message}`),
      );
      await this.terminate(containerd, 10_000);
    }
    // Shims and anything else left in the mount namespace or the cgroup tree.
    for (let round = 0; round < 50; round++) {
      const left = this.livePids().filter((pid) => pid !== proc('holder')?.pid);
      if (left.length === 0) break;
      for (const pid of left) signal(pid, 'SIGKILL');
      await sleep(100);
    }
    const holder = proc('holder');
    if (holder) await this.terminate(holder, 2_000);
    const left = this.livePids();
    if (left.length > 0) errors.push(`processes still alive: ${left.join(', ')}`);
  }

  /**
   * Runs a program inside the node (its network and mount namespaces), as a systemd unit of the
   * node would: e.g. the hub kubelet talks to. It is stopped with the node, stopped and started
   * again by `reboot()` (before kubelet), and logs to `<nodeDir>/logs/<name>.log`.
   */
  async spawnInside(name: string, exe: string, args: string[]): Promise<{ pid: number; logPath: string }> {
    if (NODE_PROGRAMS.includes(name) || !/^[a-z0-9-]+$/.test(name))
      throw new KubeletNodeError(
        `"${name}" cannot name a program in node ${this.name} (reserved or not a-z0-9-)`,
      );
    const running = this.state.processes.find((p) => p.name === name);
    if (running && pidRunsExe(running))
      throw new KubeletNodeError(`${name} already runs in node ${this.name} (pid ${running.pid})`);
    this.state.processes = this.state.processes.filter((p) => p.name !== name);
    const rec = await this.spawnInNode(name, exe, args, { detached: this.state.detached });
    return { pid: rec.pid, logPath: rec.logPath };
  }

  /** Stops a program started with `spawnInside` (SIGTERM, SIGKILL after graceMs); no-op if not running. */
  async stopInside(name: string, graceMs = 10_000): Promise<void> {
    const rec = this.state.processes.find((p) => p.name === name && !NODE_PROGRAMS.includes(p.name));
    if (!rec) return;
    await this.terminate(rec, graceMs);
    this.state.processes = this.state.processes.filter((p) => p !== rec);
    await this.saveState();
  }

  /** PID of a running node program ('kubelet', 'containerd', or one from `spawnInside`). */
  pidOf(name: string): number | undefined {
    const rec = this.state.processes.find((p) => p.name === name);
    return rec && pidRunsExe(rec) ? rec.pid : undefined;
  }

  /** kubelet alone stops (SIGTERM) and starts again with the same arguments; containers keep running. */
  async restartKubelet(): Promise<number> {
    const rec = this.state.processes.find((p) => p.name === 'kubelet');
    if (!rec?.args) throw new KubeletNodeError(`node ${this.name} has no kubelet to restart`);
    await this.terminate(rec, 10_000);
    this.state.processes = this.state.processes.filter((p) => p !== rec);
    const again = await this.spawnInNode('kubelet', rec.exe, rec.args, { detached: this.state.detached });
    return again.pid;
  }

  /**
   * A reboot: the node shuts down (`shutdown`: containers die) and what a real machine keeps only in
   * RAM is gone — containerd's and runc's state (/run), the cgroup tree, the CNI bridge and its
   * chains, every mount (volume tmpfs, pod netns). The disk stays: containerd's images and
   * metadata, kubelet's root dir, CNI IPAM data, logs. Then it boots on the same directories:
   * holder, containerd, the `spawnInside` programs in their order, kubelet, with the same arguments.
   */
  async reboot(
    opts: { log?: (line: string) => void; beforeKubelet?: () => Promise<void> } = {},
  ): Promise<void> {
    const log = opts.log;
    const before = [...this.state.processes];
    const containerd = before.find((p) => p.name === 'containerd');
    const kubelet = before.find((p) => p.name === 'kubelet');
    if (!containerd?.args || !kubelet?.args)
      throw new KubeletNodeError(`node ${this.name} is not running (no containerd/kubelet to reboot)`);
    const errors: string[] = [];
    await this.shutdown(5_000, errors);
    const paths = nodePaths(this.nodeDir);
    if (existsSync(`/run/netns/${this.netns}`))
      await removeCniNetworkObjects(this.netns).catch((e: Error) => errors.push(`CNI: ${e.message}`));
    await removeShimSockets(paths.containerdState).catch((e: Error) =>
      errors.push(`shim sockets: ${e.message}`),
    );
    await removeCgroupTree(this.cgroupRoot).catch((e: Error) => errors.push(`cgroups: ${e.message}`));
    const mounts = mountPointsUnder(this.nodeDir);
    if (mounts.length > 0) errors.push(`mounts left under ${this.nodeDir}: ${mounts.join(', ')}`);
    if (errors.length > 0)
      throw new KubeletNodeError(
        `rebooting node ${this.name}: shutdown left work undone: ${errors.join('; ')}`,
      );
    for (const d of [paths.containerdState, paths.runcRoot]) {
      await rm(d, { recursive: true, force: true });
      await mkdir(d, { recursive: true });
    }
    log?.(`[lab] node ${this.name} shut down; booting`);

    this.state.processes = [];
    this.state.mountNamespace = '';
    const detached = this.state.detached ?? false;
    await createCgroupRoot(this.cgroupRoot);
    await this.startHolder(detached);
    await this.fakeKernelTunables();
    const c = await this.spawnInNode('containerd', containerd.exe, containerd.args, { detached });
    await this.waitFor('containerd to serve its socket after reboot', 30_000, [c], async () =>
      shOk('ctr', ['-a', this.containerdSocket, 'version'], { timeoutMs: 5_000 }),
    );
    for (const extra of before.filter((p) => !NODE_PROGRAMS.includes(p.name)))
      await this.spawnInNode(extra.name, extra.exe, extra.args ?? [], { detached });
    // As a unit ordered After= the hub: e.g. wait until the hub answers.
    await opts.beforeKubelet?.();
    await this.spawnInNode('kubelet', kubelet.exe, kubelet.args, { detached });
    log?.(`[lab] node ${this.name} booted`);
  }

  /** Runs a command in the node's mount and network namespaces (sees volume mounts, talks on its loopback). */
  inside(file: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
    return sh('nsenter', ['-t', String(this.holderPid()), '-m', '-n', '--', file, ...args], { timeoutMs });
  }

  /** `ctr` against this node's containerd (k8s.io namespace: what the CRI plugin uses). */
  ctr(args: readonly string[]): Promise<string> {
    return sh('ctr', ['-a', this.containerdSocket, '-n', 'k8s.io', ...args], { timeoutMs: 30_000 });
  }

  private async startHolder(detached: boolean): Promise<void> {
    // The pause binary is a fine holder: it sleeps until SIGTERM. It is taken from the image
    // build cache so the node needs no other program. Its mount namespace is private (slave), so
    // host mounts still appear inside but nothing made inside leaks out.
    const pauseBin = join(this.nodeDir, 'holder');
    await extractPauseBinary(pauseBin);
    const logPath = join(this.logDir, 'holder.log');
    const args = [
      `--net=/run/netns/${this.netns}`,
      '--',
      'unshare',
      '--mount',
      '--propagation',
      'slave',
      '--',
      pauseBin,
    ];
    const pid = this.spawnLogged('nsenter', args, logPath, detached);
    const rec: NodeProcessRecord = { name: 'holder', pid, exe: pauseBin, logPath };
    this.state.processes.push(rec);
    await this.saveState();
    const hostMnt = readlinkSync('/proc/self/ns/mnt');
    await this.waitFor('the namespace holder', 5_000, [rec], async () => {
      try {
        return pidRunsExe(rec) && readlinkSync(`/proc/${pid}/ns/mnt`) !== hostMnt;
      } catch {
        return false;
      }
    });
    this.state.mountNamespace = readlinkSync(`/proc/${pid}/ns/mnt`);
    await this.saveState();
  }

  private async fakeKernelTunables(): Promise<void> {
    const holder = this.holderPid();
    const dir = nodePaths(this.nodeDir).procSysDir;
    await mkdir(dir, { recursive: true });
    for (const [key, value] of Object.entries(KUBELET_KERNEL_TUNABLES)) {
      const real = (await readFile(`/proc/sys/${key}`, 'utf8')).trim();
      if (real === value) continue;
      const file = join(dir, key.replaceAll('/', '.'));
      await writeFile(file, `${value}\n`);
      await sh('nsenter', [
        '-t',
        String(holder),
        '-m',
        '--',
        'mount',
        '--bind',
        '-o',
        'ro',
        file,
        `/proc/sys/${key}`,
      ]);
    }
  }

  private holderPid(): number {
    const holder = this.state.processes.find((p) => p.name === 'holder');
    if (!holder || !pidRunsExe(holder))
      throw new KubeletNodeError(`namespace holder of node ${this.name} is not running`);
    return holder.pid;
  }

  /** Starts a program in the node's network and mount namespaces (nsenter execs it: same PID). */
  private async spawnInNode(
    name: string,
    exe: string,
    args: string[],
    opts: { detached?: boolean },
  ): Promise<NodeProcessRecord> {
    const logPath = join(this.logDir, `${name}.log`);
    const nsArgs = ['-t', String(this.holderPid()), '-m', '-n', '--', exe, ...args];
    const pid = this.spawnLogged('nsenter', nsArgs, logPath, opts.detached ?? false);
    const rec: NodeProcessRecord = { name, pid, exe, logPath, args };
    this.state.processes.push(rec);
    await this.saveState();
    return rec;
  }

  private spawnLogged(file: string, args: string[], logPath: string, detached: boolean): number {
    const fd = openSync(logPath, 'a');
    let child: ChildProcess;
    try {
      // Attached: setpriv makes the kernel SIGKILL the program if this Node process dies.
      const [f, a] = detached ? [file, args] : ['setpriv', ['--pdeathsig', 'KILL', '--', file, ...args]];
      child = spawn(f, a, { stdio: ['ignore', fd, fd], detached });
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) throw new KubeletNodeError(`cannot start ${file}`, logPath);
    child.on('error', () => undefined); // reported through the exit/pid checks and the log
    if (detached) child.unref();
    this.children.set(child.pid, child);
    return child.pid;
  }

  /** Our own children are judged by their exit event (right after spawn they are still nsenter). */
  private hasExited(rec: NodeProcessRecord): boolean {
    const child = this.children.get(rec.pid);
    if (child) return child.exitCode !== null || child.signalCode !== null;
    return !pidRunsExe(rec);
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves when the PID no longer runs the program. */
  private async terminate(rec: NodeProcessRecord, graceMs: number): Promise<void> {
    if (!pidRunsExe(rec)) return;
    signal(rec.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (pidRunsExe(rec) && Date.now() < deadline) await sleep(100);
    if (pidRunsExe(rec)) {
      signal(rec.pid, 'SIGKILL');
      for (let i = 0; i < 50 && pidRunsExe(rec); i++) await sleep(100);
    }
  }

  /**
   * SIGTERM to every running container task, SIGKILL to those still running after graceMs, then
   * deletes the tasks so their shims exit on their own (and remove their sockets in /run/containerd/s).
   */
  private async stopContainers(graceMs: number): Promise<void> {
    const tasks = async () =>
      (await this.ctr(['tasks', 'ls', '-q'])).split('\n').filter((id) => id.trim() !== '');
    for (const id of await tasks())
      await this.ctr(['tasks', 'kill', '-s', 'SIGTERM', id]).catch(() => undefined);
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && /\bRUNNING\b/.test(await this.ctr(['tasks', 'ls']))) await sleep(250);
    if (/\bRUNNING\b/.test(await this.ctr(['tasks', 'ls']))) {
      for (const id of await tasks())
        await this.ctr(['tasks', 'kill', '-a', '-s', 'SIGKILL', id]).catch(() => undefined);
      await sleep(500);
    }
    for (const id of await tasks()) await this.ctr(['tasks', 'rm', '-f', id]).catch(() => undefined);
  }

  private async waitFor(
    what: string,
    timeoutMs: number,
    watched: NodeProcessRecord[],
    probe: () => Promise<boolean>,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      for (const p of watched) {
        if (this.hasExited(p))
          throw new KubeletNodeError(
            `${p.name} of node ${this.name} exited while waiting for ${what}`,
            p.logPath,
          );
      }
      try {
        if (await probe()) return;
      } catch (e) {
        last = (e as Error).message;
      }
      await sleep(500);
    }
    const kubelet = this.state.processes.find((p) => p.name === 'kubelet');
    throw new KubeletNodeError(
      `timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last: ${last})` : ''}`,
      kubelet?.logPath,
    );
  }

  private async saveState(): Promise<void> {
    const path = join(this.nodeDir, STATE_FILE);
    await writeFile(`${path}.tmp`, JSON.stringify(this.state, null, 2));
    await rename(`${path}.tmp`, path);
  }
}

interface NodePaths {
  containerdDir: string;
  containerdRoot: string;
  containerdState: string;
  containerdSocket: string;
  containerdConfig: string;
  runcRoot: string;
  cniDir: string;
  cniConf: string;
  cniTemplate: string;
  cniIpam: string;
  kubeletRoot: string;
  kubeletConfig: string;
  kubeconfig: string;
  kubeletServerKubeconfig: string;
  bootstrapKubeconfig: string;
  podLogs: string;
  resolvConf: string;
  procSysDir: string;
  logs: string;
}

function nodePaths(nodeDir: string): NodePaths {
  const c = join(nodeDir, 'containerd');
  const cni = join(nodeDir, 'cni');
  return {
    containerdDir: c,
    containerdRoot: join(c, 'root'),
    containerdState: join(c, 'state'),
    containerdSocket: join(c, 'containerd.sock'),
    containerdConfig: join(nodeDir, 'containerd.toml'),
    runcRoot: join(c, 'runc'),
    cniDir: cni,
    cniConf: join(cni, 'net.d'),
    cniTemplate: join(cni, 'template.conflist'),
    cniIpam: join(cni, 'ipam'),
    kubeletRoot: join(nodeDir, 'kubelet'),
    kubeletConfig: join(nodeDir, 'kubelet-config.json'),
    kubeconfig: join(nodeDir, 'kubelet.kubeconfig'),
    kubeletServerKubeconfig: join(nodeDir, 'kubelet-server.kubeconfig'),
    bootstrapKubeconfig: join(nodeDir, 'bootstrap.kubeconfig'),
    // Under logs/: kept after stop() for post-mortems (and to show containers got SIGTERM).
    podLogs: join(nodeDir, 'logs', 'pods'),
    resolvConf: join(nodeDir, 'resolv.conf'),
    procSysDir: join(nodeDir, 'proc-sys'),
    logs: join(nodeDir, 'logs'),
  };
}

async function writeConfigs(paths: NodePaths, opts: KubeletNodeOptions, cgroupRoot: string): Promise<void> {
  const q = (s: string) => JSON.stringify(s); // TOML basic strings accept JSON string syntax
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  await writeFile(
    paths.containerdConfig,
    [
      'version = 2',
      `root = ${q(paths.containerdRoot)}`,
      `state = ${q(paths.containerdState)}`,
      // Snapshotters and tracing the lab does not use: fewer plugins, fewer warnings.
      'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
      '[grpc]',
      `  address = ${q(paths.containerdSocket)}`,
      '[ttrpc]',
      `  address = ${q(`${paths.containerdSocket}.ttrpc`)}`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${q(join(paths.containerdDir, 'opt'))}`,
      `[${cri}]`,
      `  sandbox_image = ${q(PAUSE_IMAGE)}`,
      // Pod netns bind mounts under the state dir (inside the private mount namespace), not /run/netns.
      '  netns_mounts_under_state_dir = true',
      '  enable_selinux = false',
      // This machine's root lacks CAP_SYS_RESOURCE (not in the bounding set), so no process may lower
      // its oom_score_adj: runc fails with "nsexec: failed to update /proc/self/oom_score_adj:
      // Permission denied" for the sandbox's -998. Clamp every pod's value to containerd's own (0).
      '  restrict_oom_score_adj = true',
      '  stream_server_address = "127.0.0.1"',
      '  stream_server_port = "0"',
      `[${cri}.cni]`,
      `  bin_dir = ${q(CNI_BIN_DIR)}`,
      `  conf_dir = ${q(paths.cniConf)}`,
      ...(opts.podCidr ? [] : [`  conf_template = ${q(paths.cniTemplate)}`]),
      `[${cri}.containerd]`,
      '  snapshotter = "overlayfs"',
      '  default_runtime_name = "runc"',
      `[${cri}.containerd.runtimes.runc]`,
      '  runtime_type = "io.containerd.runc.v2"',
      `[${cri}.containerd.runtimes.runc.options]`,
      `  BinaryName = ${q(RUNC)}`,
      `  Root = ${q(paths.runcRoot)}`,
      '  SystemdCgroup = false',
      '',
    ].join('\n'),
  );

  const conflist = (subnet: string) =>
    JSON.stringify(
      {
        cniVersion: '1.0.0',
        name: 'edgefleet-lab',
        plugins: [
          {
            type: 'bridge',
            bridge: 'cni0',
            isGateway: true,
            // Pods reach the lab network (the API server) as the node's address: the lab machine
            // has no route back to pod ranges.
            ipMasq: true,
            hairpinMode: true,
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet }]],
              routes: [{ dst: '0.0.0.0/0' }],
              dataDir: paths.cniIpam,
            },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      },
      null,
      2,
    );
  if (opts.podCidr) await writeFile(join(paths.cniConf, '10-edgefleet-lab.conflist'), conflist(opts.podCidr));
  else await writeFile(paths.cniTemplate, conflist('{{.PodCIDR}}'));

  await writeFile(
    paths.resolvConf,
    '# edgefleet lab: the lab network has no DNS server\nsearch lab.invalid\n',
  );

  const kubeletConfig = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // This machine runs cgroup v1 without systemd as PID 1: cgroupfs is the only driver that works.
    cgroupDriver: 'cgroupfs',
    cgroupRoot,
    failCgroupV1: false,
    failSwapOn: false,
    containerRuntimeEndpoint: `unix://${paths.containerdSocket}`,
    imageServiceEndpoint: `unix://${paths.containerdSocket}`,
    address: opts.link.address,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: opts.caCertPath },
    },
    authorization: { mode: 'Webhook' },
    podLogsDir: paths.podLogs,
    resolvConf: paths.resolvConf,
    protectKernelDefaults: true,
    rotateCertificates: 'bootstrapToken' in opts.credentials,
    // Lab images are imported, never pulled: image GC must not delete them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '2%', 'imagefs.available': '2%' },
    maxPods: 30,
    serializeImagePulls: false,
  };
  await writeFile(paths.kubeletConfig, JSON.stringify(kubeletConfig, null, 2));

  const ca = await readFile(opts.caCertPath);
  if ('clientCert' in opts.credentials) {
    const [cert, key] = await Promise.all([
      readFile(opts.credentials.clientCert.cert),
      readFile(opts.credentials.clientCert.key),
    ]);
    await writeFile(
      paths.kubeconfig,
      kubeconfigYaml({ server: opts.apiServerUrl, user: `system:node:${opts.name}`, ca, cert, key }),
      {
        mode: 0o600,
      },
    );
    if (opts.kubeletServer) await writeKubeletServerKubeconfig(paths, opts, ca, cert, key);
  } else {
    if (opts.kubeletServer) {
      throw new KubeletNodeError(
        'kubeletServer needs clientCert credentials (TLS bootstrap goes to the API server)',
      );
    }
    await rm(paths.kubeconfig, { force: true });
    await writeFile(
      paths.bootstrapKubeconfig,
      kubeconfigYaml({
        server: opts.apiServerUrl,
        user: 'kubelet-bootstrap',
        ca,
        token: opts.credentials.bootstrapToken,
      }),
      { mode: 0o600 },
    );
  }
}

/** kubelet's kubeconfig for `kubeletServer`: no credentials for plain http (a hub on loopback). */
async function writeKubeletServerKubeconfig(
  paths: NodePaths,
  opts: KubeletNodeOptions,
  ca: Buffer,
  cert: Buffer,
  key: Buffer,
): Promise<void> {
  const server = opts.kubeletServer ?? '';
  const yaml = server.startsWith('http://')
    ? `${JSON.stringify(
        {
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'hub', cluster: { server } }],
          users: [{ name: 'kubelet', user: {} }],
          contexts: [{ name: 'hub', context: { cluster: 'hub', user: 'kubelet' } }],
          'current-context': 'hub',
        },
        null,
        2,
      )}\n`
    : kubeconfigYaml({ server, user: `system:node:${opts.name}`, ca, cert, key });
  await writeFile(paths.kubeletServerKubeconfig, yaml, { mode: 0o600 });
}

function kubeletArgs(paths: NodePaths, opts: KubeletNodeOptions): string[] {
  return [
    `--config=${paths.kubeletConfig}`,
    `--kubeconfig=${opts.kubeletServer ? paths.kubeletServerKubeconfig : paths.kubeconfig}`,
    ...('bootstrapToken' in opts.credentials ? [`--bootstrap-kubeconfig=${paths.bootstrapKubeconfig}`] : []),
    `--root-dir=${paths.kubeletRoot}`,
    `--cert-dir=${join(paths.kubeletRoot, 'pki')}`,
    `--hostname-override=${opts.name}`,
    `--node-ip=${opts.link.address}`,
    '--node-labels=edgefleet.io/lab-node=kubelet',
    `--v=${opts.verbosity ?? 2}`,
  ];
}

async function extractPauseBinary(dest: string): Promise<void> {
  // The holder only has to sleep until SIGTERM: any static sleeper works; the lab's pause
  // program is built by images.ts from test/lab/images/pause.c.
  const src = join(dirname(new URL(import.meta.url).pathname), 'images', 'pause.c');
  await sh('gcc', ['-static', '-Os', '-s', '-o', dest, src], { timeoutMs: 120_000 });
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/** True while `pid` runs `exe` and is not a zombie (guards against PID reuse after a crash). */
function pidRunsExe(rec: Pick<NodeProcessRecord, 'pid' | 'exe'>): boolean {
  try {
    const stat = readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    const argv0 = readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0')[0];
    return argv0 === rec.exe;
  } catch {
    return false;
  }
}

function pidsInMountNamespace(ns: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/mnt`) === ns) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return pids;
}

/** The cgroup hierarchies under /sys/fs/cgroup: v1 controllers and hybrid unified, or pure v2. */
function cgroupHierarchies(): string[] {
  const dirs: string[] = [];
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, target, type] = line.split(' ');
    if (!target || (type !== 'cgroup' && type !== 'cgroup2')) continue;
    // v1/hybrid: one mount per hierarchy below /sys/fs/cgroup; pure v2: /sys/fs/cgroup itself.
    if (target.startsWith(`${CGROUP_FS}/`) || target === CGROUP_FS) dirs.push(target);
  }
  return dirs;
}

function pidsInCgroupTree(root: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    try {
      for (const p of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
    } catch {
      // removed meanwhile
    }
  };
  for (const h of cgroupHierarchies()) walk(join(h, root));
  return [...pids];
}

async function createCgroupRoot(root: string): Promise<void> {
  for (const h of cgroupHierarchies()) {
    const dir = join(h, root);
    await mkdir(dir, { recursive: true });
    // A new v1 cpuset starts with no CPUs or memory nodes; children could hold no task.
    if (existsSync(join(h, 'cpuset.cpus')) && !existsSync(join(h, 'cgroup.controllers'))) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        await writeFile(join(dir, f), await readFile(join(h, f), 'utf8'));
      }
    }
  }
}

/** rmdir leaf-first; a cgroup with tasks left fails with EBUSY, reported by the caller. */
async function removeCgroupTree(root: string): Promise<void> {
  const failed: string[] = [];
  const remove = async (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) await remove(join(dir, e.name));
    await rmdir(dir).catch((err: NodeJS.ErrnoException) => failed.push(`${dir} (${err.code})`));
  };
  for (const h of cgroupHierarchies()) {
    const dir = join(h, root);
    if (existsSync(dir)) await remove(dir);
  }
  if (failed.length > 0) throw new Error(`could not remove cgroups ${failed.join(', ')}`);
}

/** The CNI bridge and the bridge/portmap plugins' iptables chains in the node's namespace. */
async function removeCniNetworkObjects(netns: string): Promise<void> {
  const inNs = (file: string, args: string[]) => sh('ip', ['netns', 'exec', netns, file, ...args]);
  if (await shOk('ip', ['-n', netns, 'link', 'show', 'cni0'])) await inNs('ip', ['link', 'del', 'cni0']);
  for (const table of ['nat', 'filter', 'mangle']) {
    const rules = await inNs('iptables', ['-w', '-t', table, '-S']);
    // Jumps into CNI chains first, deleted by position (their comments hold nested quotes), last first.
    const jumps: [string, number][] = [];
    const position = new Map<string, number>();
    for (const line of rules.split('\n')) {
      const chain = /^-A (\S+) /.exec(line)?.[1];
      if (!chain) continue;
      const n = (position.get(chain) ?? 0) + 1;
      position.set(chain, n);
      if (/ -j (CNI-|KUBE-)/.test(line)) jumps.push([chain, n]);
    }
    for (const [chain, n] of jumps.reverse())
      await inNs('iptables', ['-w', '-t', table, '-D', chain, String(n)]);
    const chains = rules
      .split('\n')
      .filter((l) => /^-N (CNI-|KUBE-)/.test(l))
      .map((l) => l.slice(3).trim());
    for (const chain of chains) await inNs('iptables', ['-w', '-t', table, '-F', chain]);
    for (const chain of chains) await inNs('iptables', ['-w', '-t', table, '-X', chain]);
  }
}

const SHIM_SOCKET_DIR = '/run/containerd/s';

/**
 * containerd 1.6 shims listen in /run/containerd/s whatever containerd's state dir is; a shim that
 * was killed leaves its socket there. Each task bundle records its shim's address.
 */
async function removeShimSockets(containerdState: string): Promise<void> {
  const tasksDir = join(containerdState, 'io.containerd.runtime.v2.task');
  if (!existsSync(tasksDir)) return;
  for (const ns of readdirSync(tasksDir)) {
    for (const id of readdirSync(join(tasksDir, ns))) {
      const addressFile = join(tasksDir, ns, id, 'address');
      if (!existsSync(addressFile)) continue;
      const socket = readFileSync(addressFile, 'utf8')
        .trim()
        .replace(/^unix:\/\//, '');
      if (dirname(socket) === SHIM_SOCKET_DIR) await rm(socket, { force: true });
    }
  }
  // Gone too if nothing else uses them (another containerd would keep them non-empty).
  for (const d of [SHIM_SOCKET_DIR, dirname(SHIM_SOCKET_DIR)]) await rmdir(d).catch(() => undefined);
}
