import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { Pki } from './pki.ts';
import { addShutdownHook, freePort, ProcessGroup, type RunningProcess, waitFor } from './proc.ts';
import { sh } from './sh.ts';
import { ensureBinaries, type LabBinaries } from './toolchain.ts';

export interface ClusterOptions {
  /** Everything of this cluster lives here: PKI, etcd data, kubeconfigs, logs/, state files. */
  dir: string;
  /** Where kube-apiserver listens and what it advertises (the lab bridge address, or 127.0.0.1). */
  bindAddress: string;
  /** kube-apiserver port; a free one when omitted. */
  port?: number;
  /** Service IPs; must stay inside 198.18.0.0/15 (the only range the lab may use). */
  serviceCidr?: string;
  /** Pod IPs handed out per node by the node-ipam controller. */
  podCidr?: string;
  /** Size of each node's pod CIDR (/26 = 64 addresses, room for 4096 nodes in a /18). */
  nodeCidrMaskSize?: number;
  /** How long a node may miss heartbeats before it is marked NotReady/Unknown (seconds). */
  nodeMonitorGracePeriodSeconds?: number;
  /** How long pods stay bound to an unreachable/not-ready node before eviction (seconds). */
  evictionTolerationSeconds?: number;
  /** More names/IPs for the API server certificate (e.g. an address hosts reach it by). */
  apiServerAltNames?: string[];
  egressSelectorConfigFile?: string;
  extraApiserverArgs?: string[];
  extraControllerManagerArgs?: string[];
  /** Keep running after this Node process exits (for `npm run lab -- up`); stop with Cluster.stopFromState. */
  detached?: boolean;
  binaries?: LabBinaries;
  log?: (line: string) => void;
  /** Context name in admin.kubeconfig (default `lab`). */
  contextName?: string;
  /**
   * Stop on Ctrl-C and exit (default true, for tests and the lab CLI). The app says false: it has
   * its own shutdown that stops the cluster before exiting.
   */
  shutdownHook?: boolean;
}

/** What a later process needs to use or stop a running cluster (`<dir>/cluster.json`). */
export interface ClusterState {
  dir: string;
  apiServerUrl: string;
  bindAddress: string;
  kubeconfigPath: string;
  caCertPath: string;
  pkiDir: string;
  serviceCidr: string;
  podCidr: string;
  binaries: LabBinaries;
  startedAt: string;
}

export const DEFAULT_SERVICE_CIDR = '198.19.0.0/20';
export const DEFAULT_POD_CIDR = '198.19.64.0/18';
/** The first address of the service range: the in-cluster `kubernetes` Service. */
export function kubernetesServiceIp(serviceCidr: string): string {
  const [net] = serviceCidr.split('/');
  const parts = (net ?? '').split('.').map(Number);
  parts[3] = (parts[3] ?? 0) + 1;
  return parts.join('.');
}

// Lab timings, shorter than upstream so tests see node failure in seconds, not minutes:
// kwok renews node leases every NODE_LEASE_SECONDS/4 = 5 s, the node-lifecycle controller checks
// every 2 s and marks a node Unknown after 20 s without a renewal (upstream: 40 s / 50 s).
export const LAB_NODE_MONITOR_GRACE_SECONDS = 20;
export const LAB_NODE_MONITOR_PERIOD_SECONDS = 2;
// Upstream evicts pods from an unreachable node after 300 s; the lab uses 60 s so autonomy
// tests can show "would have been evicted" within a test's time.
export const LAB_EVICTION_TOLERATION_SECONDS = 60;

const CLUSTER_STATE = 'cluster.json';

export interface KubectlOptions {
  input?: string;
  timeoutMs?: number;
  /** Another kubeconfig (e.g. a node's or a bootstrap token's) instead of the admin one. */
  kubeconfig?: string;
}

/** A kube-apiserver + etcd + kube-controller-manager + kube-scheduler made of real binaries. */
export class Cluster {
  readonly dir: string;
  readonly apiServerUrl: string;
  readonly bindAddress: string;
  readonly kubeconfigPath: string;
  readonly caCertPath: string;
  readonly pki: Pki;
  readonly serviceCidr: string;
  readonly podCidr: string;
  readonly binaries: LabBinaries;
  /** The programs; kwok and other lab parts add theirs so one stop() ends all. */
  readonly processes: ProcessGroup;
  /** Milliseconds from start() until /readyz answered ok (binaries already cached). */
  readonly apiserverReadyMs: number;
  private unhook: () => void = () => undefined;

  private constructor(state: ClusterState, processes: ProcessGroup, readyMs: number) {
    this.dir = state.dir;
    this.apiServerUrl = state.apiServerUrl;
    this.bindAddress = state.bindAddress;
    this.kubeconfigPath = state.kubeconfigPath;
    this.caCertPath = state.caCertPath;
    this.pki = Pki.open(state.pkiDir);
    this.serviceCidr = state.serviceCidr;
    this.podCidr = state.podCidr;
    this.binaries = state.binaries;
    this.processes = processes;
    this.apiserverReadyMs = readyMs;
  }

  static async start(opts: ClusterOptions): Promise<Cluster> {
    const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const binaries = opts.binaries ?? (await ensureBinaries());
    const t0 = Date.now();
    const dir = opts.dir;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (existsSync(join(dir, CLUSTER_STATE))) {
      const old = await ProcessGroup.load(dir);
      if (old.processes.length > 0) {
        throw new Error(
          `a lab cluster is already running in ${dir} (pids ${old.processes.map((p) => p.pid).join(', ')}): stop it first`,
        );
      }
    }
    const serviceCidr = opts.serviceCidr ?? DEFAULT_SERVICE_CIDR;
    const podCidr = opts.podCidr ?? DEFAULT_POD_CIDR;
    // A fresh cluster every time: a previous run's data would not match the new PKI.
    await rm(join(dir, 'etcd'), { recursive: true, force: true });
    const group = new ProcessGroup(dir, { detached: opts.detached });
    // Ctrl-C stops an attached cluster gracefully; a SIGKILLed parent is covered by setpriv --pdeathsig.
    const unhook =
      opts.detached || opts.shutdownHook === false ? () => true : addShutdownHook(() => group.stopAll(3_000));
    try {
      const port = opts.port ?? (await freePort(opts.bindAddress));
      const [etcdPort, peerPort, kcmPort, schedPort] = [
        await freePort(),
        await freePort(),
        await freePort(),
        await freePort(),
      ];
      const apiServerUrl = `https://${urlHost(opts.bindAddress)}:${port}`;

      const pkiDir = join(dir, 'pki');
      const pki = await Pki.create(pkiDir);
      const apiAltNames = [
        opts.bindAddress,
        '127.0.0.1',
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
        kubernetesServiceIp(serviceCidr),
        ...(opts.apiServerAltNames ?? []),
      ];
      const [apiserverCert, kubeletClient, admin, kcm, sched, kcmServing, schedServing] = await Promise.all([
        pki.issueServerCert('apiserver', 'kube-apiserver', [...new Set(apiAltNames)]),
        pki.issueClientCert('apiserver-kubelet-client', 'kube-apiserver-kubelet-client', ['system:masters']),
        pki.issueClientCert('admin', 'lab-admin', ['system:masters']),
        pki.issueClientCert('controller-manager', 'system:kube-controller-manager'),
        pki.issueClientCert('scheduler', 'system:kube-scheduler'),
        pki.issueServerCert('controller-manager-serving', 'kube-controller-manager', [
          '127.0.0.1',
          'localhost',
        ]),
        pki.issueServerCert('scheduler-serving', 'kube-scheduler', ['127.0.0.1', 'localhost']),
      ]);
      const kubeconfigPath = await pki.writeKubeconfig(join(dir, 'admin.kubeconfig'), {
        server: apiServerUrl,
        user: 'lab-admin',
        client: admin,
        ...(opts.contextName ? { context: opts.contextName } : {}),
      });
      const kcmKubeconfig = await pki.writeKubeconfig(join(dir, 'controller-manager.kubeconfig'), {
        server: apiServerUrl,
        user: 'system:kube-controller-manager',
        client: kcm,
      });
      const schedKubeconfig = await pki.writeKubeconfig(join(dir, 'scheduler.kubeconfig'), {
        server: apiServerUrl,
        user: 'system:kube-scheduler',
        client: sched,
      });

      const etcd = group.start({
        name: 'etcd',
        file: binaries.etcd,
        args: [
          '--name=lab',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
          `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
          `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
          `--initial-cluster=lab=http://127.0.0.1:${peerPort}`,
          '--initial-cluster-state=new',
          // A throwaway test store on a shared 2-core machine: fsync only slows it down.
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
      });
      await waitFor('etcd /health', () => httpOk(`http://127.0.0.1:${etcdPort}/health`), {
        timeoutMs: 30_000,
        proc: etcd,
      });

      const tolerance = String(opts.evictionTolerationSeconds ?? LAB_EVICTION_TOLERATION_SECONDS);
      const loopback = opts.bindAddress.startsWith('127.');
      const apiserver = group.start({
        name: 'kube-apiserver',
        file: binaries.kubeApiserver,
        args: [
          `--etcd-servers=http://127.0.0.1:${etcdPort}`,
          `--bind-address=${opts.bindAddress}`,
          `--advertise-address=${opts.bindAddress}`,
          `--secure-port=${port}`,
          `--tls-cert-file=${apiserverCert.cert}`,
          `--tls-private-key-file=${apiserverCert.key}`,
          `--client-ca-file=${pki.ca.cert}`,
          `--kubelet-client-certificate=${kubeletClient.cert}`,
          `--kubelet-client-key=${kubeletClient.key}`,
          `--service-account-key-file=${pki.serviceAccount.publicKey}`,
          `--service-account-signing-key-file=${pki.serviceAccount.privateKey}`,
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          `--service-cluster-ip-range=${serviceCidr}`,
          '--authorization-mode=Node,RBAC',
          '--enable-bootstrap-token-auth',
          // Upstream's default admission plugins plus NodeRestriction, as kubeadm clusters run.
          '--enable-admission-plugins=NodeRestriction',
          '--allow-privileged=true',
          `--default-not-ready-toleration-seconds=${tolerance}`,
          `--default-unreachable-toleration-seconds=${tolerance}`,
          // A loopback address may not be an endpoint of the `kubernetes` Service.
          ...(loopback ? ['--endpoint-reconciler-type=none'] : []),
          ...(opts.egressSelectorConfigFile
            ? [`--egress-selector-config-file=${opts.egressSelectorConfigFile}`]
            : []),
          // Lab node names do not resolve in DNS: reach kubelets (logs/exec) by their InternalIP.
          '--kubelet-preferred-address-types=InternalIP,Hostname',
          ...(opts.extraApiserverArgs ?? []),
        ],
      });
      const tls = {
        ca: await readFile(pki.ca.cert),
        cert: await readFile(admin.cert),
        key: await readFile(admin.key),
      };
      await waitFor('kube-apiserver /readyz', () => httpsOk(`${apiServerUrl}/readyz`, tls), {
        timeoutMs: 90_000,
        proc: apiserver,
      });
      const readyMs = Date.now() - t0;
      log(`[lab] kube-apiserver ready at ${apiServerUrl} in ${(readyMs / 1000).toFixed(1)} s`);

      const common = (kubeconfig: string, servePort: number, serving: { cert: string; key: string }) => [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${servePort}`,
        `--tls-cert-file=${serving.cert}`,
        `--tls-private-key-file=${serving.key}`,
        `--client-ca-file=${pki.ca.cert}`,
        // No front proxy in the lab: do not wait for a requestheader CA that never comes.
        '--authentication-skip-lookup',
        // One instance each: no election wait at start.
        '--leader-elect=false',
      ];
      const kcmProc = group.start({
        name: 'kube-controller-manager',
        file: binaries.kubeControllerManager,
        args: [
          ...common(kcmKubeconfig, kcmPort, kcmServing),
          '--controllers=*,bootstrapsigner,tokencleaner',
          '--use-service-account-credentials=true',
          `--service-account-private-key-file=${pki.serviceAccount.privateKey}`,
          `--root-ca-file=${pki.ca.cert}`,
          // csrsigning: signs kube-apiserver-client, kubelet-serving and kubelet client CSRs with the lab CA.
          `--cluster-signing-cert-file=${pki.ca.cert}`,
          `--cluster-signing-key-file=${pki.ca.key}`,
          '--allocate-node-cidrs=true',
          `--cluster-cidr=${podCidr}`,
          `--node-cidr-mask-size=${opts.nodeCidrMaskSize ?? 26}`,
          `--service-cluster-ip-range=${serviceCidr}`,
          `--node-monitor-grace-period=${opts.nodeMonitorGracePeriodSeconds ?? LAB_NODE_MONITOR_GRACE_SECONDS}s`,
          `--node-monitor-period=${LAB_NODE_MONITOR_PERIOD_SECONDS}s`,
          ...(opts.extraControllerManagerArgs ?? []),
        ],
      });
      const schedProc = group.start({
        name: 'kube-scheduler',
        file: binaries.kubeScheduler,
        args: common(schedKubeconfig, schedPort, schedServing),
      });
      const ca = tls.ca;
      await Promise.all([
        waitFor(
          'kube-controller-manager /healthz',
          () => httpsOk(`https://127.0.0.1:${kcmPort}/healthz`, { ca }),
          {
            timeoutMs: 60_000,
            proc: kcmProc,
          },
        ),
        waitFor('kube-scheduler /healthz', () => httpsOk(`https://127.0.0.1:${schedPort}/healthz`, { ca }), {
          timeoutMs: 60_000,
          proc: schedProc,
        }),
      ]);

      const state: ClusterState = {
        dir,
        apiServerUrl,
        bindAddress: opts.bindAddress,
        kubeconfigPath,
        caCertPath: pki.ca.cert,
        pkiDir,
        serviceCidr,
        podCidr,
        binaries,
        startedAt: new Date(t0).toISOString(),
      };
      await writeFile(join(dir, CLUSTER_STATE), JSON.stringify(state, null, 2));
      log(`[lab] control plane up in ${((Date.now() - t0) / 1000).toFixed(1)} s (logs in ${group.logDir})`);
      const cluster = new Cluster(state, group, readyMs);
      cluster.unhook = unhook;
      return cluster;
    } catch (e) {
      unhook();
      await group
        .stopAll(3_000)
        .catch((stopError: Error) => log(`[lab] cleanup after failed start: ${stopError.message}`));
      throw e;
    }
  }

  /** Opens a cluster another process started (state files in `dir`). */
  static async attach(dir: string): Promise<Cluster> {
    const path = join(dir, CLUSTER_STATE);
    if (!existsSync(path))
      throw new Error(`no lab cluster state in ${dir} (${CLUSTER_STATE} missing): start one first`);
    const state = JSON.parse(await readFile(path, 'utf8')) as ClusterState;
    return new Cluster(state, await ProcessGroup.load(dir), 0);
  }

  /** Stops whatever a (possibly other, possibly dead) process started in `dir`. No-op if nothing runs. */
  static async stopFromState(dir: string): Promise<void> {
    const group = await ProcessGroup.load(dir);
    await group.stopAll();
  }

  /** Runs the lab's kubectl (same version as the cluster) with the admin kubeconfig; resolves stdout. */
  kubectl(args: readonly string[], opts: KubectlOptions = {}): Promise<string> {
    return sh(this.binaries.kubectl, [`--kubeconfig=${opts.kubeconfig ?? this.kubeconfigPath}`, ...args], {
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? 60_000,
    });
  }

  async kubectlJson<T = unknown>(args: readonly string[], opts: KubectlOptions = {}): Promise<T> {
    return JSON.parse(await this.kubectl([...args, '-o', 'json'], opts)) as T;
  }

  /** The programs still running (e.g. to assert none is left after stop()). */
  runningProcesses(): readonly RunningProcess[] {
    return this.processes.processes.filter((p) => !p.hasExited());
  }

  /**
   * A bootstrap token (`<id>.<secret>`) in kube-system plus the RBAC kubeadm sets up for TLS
   * bootstrap: bootstrappers may create CSRs and get kubelet client CSRs auto-approved.
   */
  async createBootstrapToken(opts: { ttlSeconds?: number; description?: string } = {}): Promise<string> {
    const id = randomToken(6);
    const secret = randomToken(16);
    const expiration = new Date(Date.now() + (opts.ttlSeconds ?? 24 * 3600) * 1000)
      .toISOString()
      .replace(/\.\d+Z$/, 'Z');
    const objects = [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'bootstrap.kubernetes.io/token',
        metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
        stringData: {
          description: opts.description ?? 'edgefleet lab',
          'token-id': id,
          'token-secret': secret,
          expiration,
          'usage-bootstrap-authentication': 'true',
          'usage-bootstrap-signing': 'true',
          'auth-extra-groups': 'system:bootstrappers:edgefleet',
        },
      },
      binding('lab:bootstrappers-create-csr', 'system:node-bootstrapper', 'system:bootstrappers'),
      binding(
        'lab:bootstrappers-approve-node-client-csr',
        'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
        'system:bootstrappers',
      ),
      binding(
        'lab:nodes-renew-own-client-cert',
        'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
        'system:nodes',
      ),
    ];
    await this.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
    });
    return `${id}.${secret}`;
  }

  /**
   * Starts another kube-apiserver on this cluster's etcd, PKI and bind address, as a second
   * control-plane instance (e.g. for a client that chooses between API servers). It runs in
   * `processes` under `name`, so stop() ends it with the rest; `processes.stop(name)` stops it
   * alone and calling this again with the same name and port starts it again.
   */
  async startExtraApiServer(
    opts: {
      name?: string;
      port?: number;
      extraArgs?: readonly string[];
      /** Flags of the first instance to leave out, by prefix (e.g. '--enable-admission-plugins='). */
      withoutArgs?: readonly string[];
    } = {},
  ): Promise<{ name: string; url: string; port: number }> {
    const main = this.processes.get('kube-apiserver');
    if (!main) throw new Error(`no kube-apiserver runs in ${this.dir}: start the cluster first`);
    const name = opts.name ?? 'kube-apiserver-2';
    const port = opts.port ?? (await freePort(this.bindAddress));
    const url = `https://${urlHost(this.bindAddress)}:${port}`;
    const args = [
      ...main.args.filter(
        (a) =>
          !a.startsWith('--secure-port=') &&
          !a.startsWith('--endpoint-reconciler-type=') &&
          !(opts.withoutArgs ?? []).some((w) => a.startsWith(w)),
      ),
      `--secure-port=${port}`,
      // Same address, another port: leave the `kubernetes` Service endpoints to the first instance.
      '--endpoint-reconciler-type=none',
      ...(opts.extraArgs ?? []),
    ];
    const proc = this.processes.start({ name, file: main.file, args });
    const ca = await readFile(this.caCertPath);
    await waitFor(`${name} /readyz`, () => httpsOk(`${url}/readyz`, { ca }), { timeoutMs: 90_000, proc });
    return { name, url, port };
  }

  /**
   * Compacts etcd's history up to its current revision, as kube-apiserver does every 5 minutes:
   * watches from an older resourceVersion that reach etcd then fail with 410 Gone. Returns the revision.
   */
  async compactEtcd(): Promise<number> {
    const flag = '--etcd-servers=';
    const etcd = this.processes
      .get('kube-apiserver')
      ?.args.find((a) => a.startsWith(flag))
      ?.slice(flag.length)
      .split(',')[0];
    if (!etcd) throw new Error(`no kube-apiserver with ${flag} runs in ${this.dir}: start the cluster first`);
    const post = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
      const res = await fetch(`${etcd}${path}`, {
        method: 'POST',
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`etcd ${path} answered ${res.status}: ${text.slice(0, 200)}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    const range = await post('/v3/kv/range', { key: Buffer.from('/').toString('base64') });
    const revision = Number((range.header as { revision?: string } | undefined)?.revision);
    if (!Number.isFinite(revision))
      throw new Error(`etcd /v3/kv/range gave no revision: ${JSON.stringify(range)}`);
    await post('/v3/kv/compaction', { revision: String(revision), physical: true });
    return revision;
  }

  /** Stops every program of this cluster (and what other parts added to `processes`). */
  async stop(): Promise<void> {
    await this.processes.stopAll();
    this.unhook();
  }
}

function binding(name: string, role: string, group: string) {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
  };
}

function randomToken(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

function urlHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return res.ok;
}

function httpsOk(url: string, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in 2 s`)));
    req.on('error', reject);
    req.end();
  });
}
