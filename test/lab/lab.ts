import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, type ClusterOptions } from './cluster.ts';
import { LabHost, mountPointsUnder, processesMentioning, readHostStates } from './host.ts';
import { KubeletNode, nodeClientCertRequest } from './kubelet.ts';
import { Kwok } from './kwok.ts';
import { destroyLabNetwork, LabNetwork, listLabNetworkObjects } from './net.ts';
import { addShutdownHook, isShuttingDown } from './proc.ts';
import { ensureRootfs } from './rootfs.ts';
import { sh } from './sh.ts';
import { ensureLabKey, type LabKey } from './ssh-keys.ts';
import { checkDebianPackages, ensureBinaries, labDebianPackages } from './toolchain.ts';

/**
 * One whole lab: the network, a real control plane bound to the lab's "cloud" address, kwok
 * for simulated nodes, and nspawn hosts. Tests use `Lab.start()` and `lab.stop()`; people use
 * `npm run lab -- up|down|status`, which is the same code with `detached: true`.
 */
export interface LabOptions {
  /** Number of nspawn Debian hosts, named edge-1..edge-N. */
  hosts?: number;
  /** kwok nodes to register (kwok-0..), Ready before start() resolves. */
  kwokNodes?: number;
  /**
   * Real kubelet nodes (containerd + runc), named kube-1..kube-N, each in its own network
   * namespace on the lab machine (runc cannot start containers inside nspawn here).
   */
  kubelets?: number;
  /** Directory for everything of this lab; a fresh temp dir when omitted. Keep it short: unix socket paths live under it. */
  dir?: string;
  /** Outlive this process (the CLI's `up`): stop later with `Lab.downFromState(dir)`. */
  detached?: boolean;
  cluster?: Partial<Omit<ClusterOptions, 'dir' | 'bindAddress' | 'detached'>>;
  log?: (line: string) => void;
}

/** `<dir>/lab.json`: what another process needs to find, report on and tear down a lab. */
export interface LabState {
  id: string;
  dir: string;
  subnetIndex: number;
  gateway: string;
  hosts: { name: string; index: number; address: string }[];
  kubelets: { name: string; index: number; address: string }[];
  kwok: boolean;
  startedAt: string;
}

export interface LabStatus {
  id: string;
  apiServerUrl: string | null;
  kubeconfig: string;
  hosts: { name: string; address: string; running: boolean; link: string; natOnly: boolean }[];
  kubelets: { name: string; address: string; running: boolean }[];
  nodes: { name: string; ready: string }[];
}

const STATE_FILE = 'lab.json';

export class Lab {
  readonly id: string;
  readonly dir: string;
  readonly net: LabNetwork;
  readonly cluster: Cluster;
  readonly kwok: Kwok | null;
  readonly key: LabKey;
  private readonly hostMap: Map<string, LabHost>;
  private readonly kubeletMap: Map<string, KubeletNode>;
  private unregisterShutdown: () => void = () => {};
  private stopped = false;

  private constructor(parts: {
    id: string;
    dir: string;
    net: LabNetwork;
    cluster: Cluster;
    kwok: Kwok | null;
    key: LabKey;
    hosts: LabHost[];
    kubelets: KubeletNode[];
  }) {
    this.id = parts.id;
    this.dir = parts.dir;
    this.net = parts.net;
    this.cluster = parts.cluster;
    this.kwok = parts.kwok;
    this.key = parts.key;
    this.hostMap = new Map(parts.hosts.map((h) => [h.name, h]));
    this.kubeletMap = new Map(parts.kubelets.map((k) => [k.name, k]));
  }

  /** A real kubelet node by name (kube-1..). */
  kubelet(name: string): KubeletNode {
    const k = this.kubeletMap.get(name);
    if (!k)
      throw new Error(
        `no lab kubelet node "${name}" (nodes: ${[...this.kubeletMap.keys()].join(', ') || 'none'})`,
      );
    return k;
  }

  /** Admin kubeconfig path. */
  get kubeconfig(): string {
    return this.cluster.kubeconfigPath;
  }

  get hosts(): LabHost[] {
    return [...this.hostMap.values()];
  }

  host(name: string): LabHost {
    const h = this.hostMap.get(name);
    if (!h)
      throw new Error(`no lab host "${name}" (hosts: ${[...this.hostMap.keys()].join(', ') || 'none'})`);
    return h;
  }

  /** Builds or finds every cached part (binaries, rootfs) so later starts take seconds. */
  static async prepare(log: (line: string) => void = defaultLog): Promise<void> {
    await checkDebianPackages(labDebianPackages());
    await ensureBinaries();
    const rootfs = await ensureRootfs({ log });
    log(
      `[lab] prepared: binaries cached, rootfs ${rootfs.path}${rootfs.built ? ` (built in ${rootfs.buildMs} ms)` : ''}`,
    );
  }

  static async start(opts: LabOptions = {}): Promise<Lab> {
    const log = opts.log ?? defaultLog;
    const id = randomBytes(2).toString('hex');
    const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), `efl-${id}-`)));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (existsSync(join(dir, STATE_FILE))) {
      throw new Error(`a lab already runs in ${dir}: run \`npm run lab -- down\` first`);
    }
    const hostCount = opts.hosts ?? 0;
    const [binaries, rootfs] = await Promise.all([
      ensureBinaries(),
      hostCount > 0 ? ensureRootfs({ log }) : null,
    ]);
    const net = await LabNetwork.create(id);
    const state: LabState = {
      id,
      dir,
      subnetIndex: net.subnetIndex,
      gateway: net.gateway,
      hosts: [],
      kubelets: [],
      kwok: false,
      startedAt: new Date().toISOString(),
    };
    // From here on everything made is recorded first, so a failure or Ctrl-C at any point can
    // be undone by the same teardown `npm run lab -- down` uses.
    await writeState(dir, state);
    const teardown = () => Lab.downFromState(dir, { keepDir: !!opts.dir });
    const unregister = opts.detached ? () => {} : addShutdownHook(teardown);
    try {
      const t0 = Date.now();
      const cluster = await Cluster.start({
        ...opts.cluster,
        dir: join(dir, 'cluster'),
        bindAddress: net.gateway,
        detached: opts.detached,
        binaries,
        log,
      });
      log(`[lab] ${id}: API server ${cluster.apiServerUrl} ready in ${Date.now() - t0} ms`);
      let kwok: Kwok | null = null;
      if ((opts.kwokNodes ?? 0) > 0) {
        kwok = await Kwok.start(cluster, { nodeIp: net.gateway });
        state.kwok = true;
        await kwok.createNodes(opts.kwokNodes ?? 0);
      }
      const key = await ensureLabKey(dir);
      const links = [];
      for (let i = 1; i <= hostCount; i++) {
        const link = await net.addHost(`edge-${i}`, i);
        links.push(link);
        state.hosts.push({ name: link.name, index: i, address: link.address });
      }
      await writeState(dir, state);
      const hosts = await Promise.all(
        links.map((link) =>
          LabHost.boot({
            labDir: dir,
            name: link.name,
            link,
            authorizedKey: key.publicKey,
            rootfs: rootfs?.path,
            log,
          }),
        ),
      );
      const kubelets: KubeletNode[] = [];
      for (let i = 1; i <= (opts.kubelets ?? 0); i++) {
        const name = `kube-${i}`;
        const link = await net.addHost(name, 100 + i);
        state.kubelets.push({ name, index: 100 + i, address: link.address });
        await writeState(dir, state);
        const req = nodeClientCertRequest(name);
        const clientCert = await cluster.pki.issueClientCert(
          `node-${name}`,
          req.commonName,
          req.organizations,
        );
        kubelets.push(
          await KubeletNode.start({
            labDir: dir,
            name,
            link,
            apiServerUrl: cluster.apiServerUrl,
            caCertPath: cluster.caCertPath,
            credentials: { clientCert },
            kubeletBin: binaries.kubelet,
            kubectlBin: binaries.kubectl,
            detached: opts.detached,
            log,
          }),
        );
      }
      log(
        `[lab] ${id}: up in ${Date.now() - t0} ms (${hostCount} hosts, ${opts.kwokNodes ?? 0} kwok nodes, ${kubelets.length} kubelets)`,
      );
      const lab = new Lab({ id, dir, net, cluster, kwok, key, hosts, kubelets });
      lab.unregisterShutdown = unregister;
      return lab;
    } catch (err) {
      // Interrupted: the signal handler is already tearing down and will exit with 130.
      if (isShuttingDown()) await new Promise<never>(() => {});
      unregister();
      await teardown().catch((e: Error) => log(`[lab] cleanup after failed start: ${e.message}`));
      throw err;
    }
  }

  /** Stops everything this lab started and removes its network; the lab dir goes unless given by the caller. */
  async stop(opts: { keepDir?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unregisterShutdown();
    // Parts started by this process are stopped through their live handles (which reap their
    // child processes and drop their Ctrl-C hooks); downFromState then handles whatever is left.
    const errors: string[] = [];
    for (const node of this.kubeletMap.values()) {
      await node.stop().catch((e: Error) => errors.push(`kubelet ${node.name}: ${e.message}`));
    }
    await Promise.all(
      this.hosts.map((h) => h.stop().catch((e: Error) => errors.push(`host ${h.name}: ${e.message}`))),
    );
    await this.cluster.stop().catch((e: Error) => errors.push(`cluster: ${e.message}`));
    await Lab.downFromState(this.dir, opts).catch((e: Error) => errors.push(e.message));
    if (errors.length) throw new Error(errors.join('; '));
  }

  /**
   * Tears down a lab from its state file, whichever process started it: hosts, control plane,
   * then network. Each step runs even if an earlier one failed; the errors are reported together.
   */
  static async downFromState(dir: string, opts: { keepDir?: boolean } = {}): Promise<void> {
    const state = await readState(dir);
    const errors: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        errors.push(`${what}: ${(e as Error).message}`);
      }
    };
    await attempt('hosts', () => LabHost.stopFromState(dir));
    for (const nodeDir of KubeletNode.findNodeDirs(dir)) {
      await attempt(`kubelet ${nodeDir}`, () => KubeletNode.stopFromState(nodeDir));
    }
    await attempt('cluster', () => Cluster.stopFromState(join(dir, 'cluster')));
    // A start interrupted mid-way (Ctrl-C while hosts boot) can leave programs that never made
    // it into a state file; everything the lab runs names its directory on its command line.
    await attempt('stray processes', () => killProcessesMentioning(dir));
    if (state) await attempt('network', () => destroyLabNetwork(state.id));
    for (const mount of mountPointsUnder(dir).reverse()) {
      await attempt(`unmount ${mount}`, () => sh('umount', ['-l', mount]));
    }
    const mounts = mountPointsUnder(dir);
    if (mounts.length) errors.push(`mounts left under ${dir}: ${mounts.join(', ')}`);
    if (errors.length) throw new Error(`lab teardown incomplete: ${errors.join('; ')}`);
    if (opts.keepDir) await rm(join(dir, STATE_FILE), { force: true });
    else await rm(dir, { recursive: true, force: true });
  }

  /** What is left of a lab after stop(): the cleanup test asserts all of this is empty. */
  static async leftovers(dir: string, id: string): Promise<string[]> {
    const net = await listLabNetworkObjects(id);
    return [
      ...net.netns.map((n) => `netns ${n}`),
      ...net.links.map((l) => `link ${l}`),
      ...mountPointsUnder(dir).map((m) => `mount ${m}`),
      ...processesMentioning(dir).map((p) => `process ${p.pid} ${p.cmdline}`),
    ];
  }

  static async status(dir: string): Promise<LabStatus | null> {
    const state = await readState(dir);
    if (!state) return null;
    let apiServerUrl: string | null = null;
    let nodes: LabStatus['nodes'] = [];
    let kubeconfig = '';
    try {
      const cluster = await Cluster.attach(join(dir, 'cluster'));
      apiServerUrl = cluster.apiServerUrl;
      kubeconfig = cluster.kubeconfigPath;
      const list = await cluster.kubectlJson<{ items: NodeLike[] }>(['get', 'nodes'], { timeoutMs: 10_000 });
      nodes = list.items.map((n) => ({
        name: n.metadata.name,
        ready: n.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'Unknown',
      }));
    } catch (e) {
      nodes = [];
      apiServerUrl ??= null;
      defaultLog(`[lab] status: cluster not reachable: ${(e as Error).message}`);
    }
    const running = new Map((await readHostStates(dir)).map((h) => [h.name, h]));
    const net = LabNetwork.attach(state.id, state.subnetIndex);
    const hosts = [];
    for (const h of state.hosts) {
      const link = await net.linkStatus(h.name);
      hosts.push({ name: h.name, address: h.address, running: running.has(h.name), ...link });
    }
    const kubelets = [];
    for (const k of state.kubelets ?? []) {
      let running = false;
      try {
        running = (await KubeletNode.attach(join(dir, `kubelet-${k.name}`))).livePids().length > 0;
      } catch {
        running = false; // no state file: the node never started or was stopped
      }
      kubelets.push({ name: k.name, address: k.address, running });
    }
    return { id: state.id, apiServerUrl, kubeconfig, hosts, kubelets, nodes };
  }
}

interface NodeLike {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

async function killProcessesMentioning(dir: string): Promise<void> {
  const strays = processesMentioning(dir);
  if (strays.length === 0) return;
  defaultLog(
    `[lab] stopping ${strays.length} stray process(es) of ${dir}: ${strays.map((p) => p.pid).join(', ')}`,
  );
  const signalAll = (sig: NodeJS.Signals) => {
    for (const p of processesMentioning(dir)) {
      try {
        process.kill(p.pid, sig);
      } catch {
        // Already gone between listing and signalling.
      }
    }
  };
  signalAll('SIGTERM');
  for (let i = 0; i < 50 && processesMentioning(dir).length > 0; i++)
    await new Promise((r) => setTimeout(r, 100));
  signalAll('SIGKILL');
  for (let i = 0; i < 30 && processesMentioning(dir).length > 0; i++)
    await new Promise((r) => setTimeout(r, 100));
  const left = processesMentioning(dir);
  if (left.length)
    throw new Error(`processes survived SIGKILL: ${left.map((p) => `${p.pid} ${p.cmdline}`).join('; ')}`);
}

function defaultLog(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function writeState(dir: string, state: LabState): Promise<void> {
  const tmp = join(dir, `${STATE_FILE}.tmp`);
  await writeFile(tmp, JSON.stringify(state, null, 2));
  await rename(tmp, join(dir, STATE_FILE));
}

async function readState(dir: string): Promise<LabState | null> {
  try {
    return JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as LabState;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(
      `lab state ${join(dir, STATE_FILE)} is unreadable (${(e as Error).message}): remove it after checking nothing runs`,
    );
  }
}
