/**
 * Preflight: read what the node is, judge whether converting it is safe, change nothing.
 * Every check ends ok / warn / fail with a sentence for the UI; any fail refuses the run before a
 * single byte is written to the node.
 */
import { X509Certificate } from 'node:crypto';
import { parseSimpleYaml } from '../../src-agent/api/kube-client.ts';
import { AppError } from '../ipc/errors.ts';
import { archOf, type NodeArch } from './artifacts.ts';
import { type ClusterAccess, certFingerprint } from './cluster-access.ts';
import { shq } from './remote.ts';
import { RefusedError } from './runner.ts';
import type { RemoteShell } from './types.ts';

export const HUB_PORTS = [10261, 10267, 10268] as const;
export const DEFAULT_KUBELET_KUBECONFIG = '/etc/kubernetes/kubelet.conf';

export interface PreflightCheck {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

export interface KubeletCredentials {
  kubeconfigPath: string;
  server: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  nodeName: string;
}

export interface NodeFacts {
  machine: string;
  arch?: NodeArch;
  os: string;
  kernel: string;
  hostname: string;
  hostIps: string[];
  kubeletVersion?: string;
  kubelet?: KubeletCredentials;
  /** Join only: the node name kubelet will register, and where its kubeconfig will be. */
  joinNodeName?: string;
  kubeconfigPath?: string;
  checks: PreflightCheck[];
}

export interface PreflightOptions {
  cluster: ClusterAccess;
  /** Bytes the upload needs under /opt (compressed + unpacked, with margin). */
  needOptBytes: number;
  /** Node name the user expects (from the UI); a different kubelet identity is refused. */
  expectNodeName?: string;
  /** Other node names claimed in the same batch (collisions inside a batch). */
  maxClockSkewMs?: number;
  /** A hub of ours already running is fine (re-run / upgrade); anything else on the ports is not. */
  /**
   * Joining a new node instead of converting a joined one: kubelet must be installed but not yet
   * joined, and no Node of that name may exist. `server` is the API server URL the node will use.
   */
  join?: { nodeName?: string; server: string };
}

function kv(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

const FACTS_SCRIPT = `
. /etc/os-release 2>/dev/null || true
echo "os=\${PRETTY_NAME:-unknown}"
echo "machine=$(uname -m)"
echo "kernel=$(uname -r)"
echo "hostname=$(hostname)"
echo "ips=$(hostname -I 2>/dev/null || true)"
if [ -d /run/systemd/system ]; then echo "systemd=$(systemctl --version | head -n1)"; else echo "systemd="; fi
echo "cgroupfs=$(stat -fc %T /sys/fs/cgroup 2>/dev/null || true)"
echo "cgroupDriver=$(sed -n 's/^cgroupDriver:[[:space:]]*//p' /var/lib/kubelet/config.yaml 2>/dev/null | head -n1)"
sock=""
for s in /run/containerd/containerd.sock /var/run/crio/crio.sock /run/cri-dockerd.sock; do [ -S "$s" ] && sock="$sock $s"; done
echo "runtimeSockets=$sock"
if command -v kubelet >/dev/null 2>&1; then echo "kubelet=$(kubelet --version 2>&1 | head -n1)"; else echo "kubelet="; fi
kc=$(systemctl cat kubelet 2>/dev/null | tr ' ' '\\n' | sed -n 's/^--kubeconfig=//p' | tail -n1)
echo "kubeconfig=\${kc:-${DEFAULT_KUBELET_KUBECONFIG}}"
echo "swap=$(awk 'NR>1' /proc/swaps | wc -l)"
for d in /opt /var/lib /etc; do t=$d; while [ ! -e "$t" ]; do t=$(dirname "$t"); done; echo "free:$d=$(df -Pk "$t" | awk 'NR==2{print $4*1024}')"; done
echo "clockMs=$(date +%s%3N)"
echo "listening=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u | tr '\\n' ' ')"
echo "hubActive=$(systemctl is-active edgefleet-hub 2>/dev/null || true)"
echo "stateRoot=$( [ -e /var/lib/edgefleet ] && ( [ -f /var/lib/edgefleet/backup/manifest ] && echo ours || echo foreign ) || echo absent)"
`;

function pemOf(value: unknown): string | undefined {
  return typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : undefined;
}

/** Reads the kubelet's kubeconfig (inline data or files it names) from the node. */
export async function readKubeletCredentials(remote: RemoteShell, path: string): Promise<KubeletCredentials> {
  const text = await catRemote(remote, path);
  const doc = (text.trimStart().startsWith('{') ? JSON.parse(text) : parseSimpleYaml(text)) as {
    'current-context'?: string;
    clusters?: { name: string; cluster: Record<string, unknown> }[];
    users?: { name: string; user: Record<string, unknown> }[];
    contexts?: { name: string; context: { cluster: string; user: string } }[];
  };
  const ctx =
    doc.contexts?.find((c) => c.name === doc['current-context'])?.context ?? doc.contexts?.[0]?.context;
  const cluster = doc.clusters?.find((c) => c.name === ctx?.cluster)?.cluster ?? doc.clusters?.[0]?.cluster;
  const user = doc.users?.find((u) => u.name === ctx?.user)?.user ?? doc.users?.[0]?.user;
  if (!cluster || !user) throw new Error(`${path} has no cluster/user`);
  const server = String(cluster.server ?? '');
  const fileOr = async (o: Record<string, unknown>, data: string, file: string) =>
    pemOf(o[data]) ?? (typeof o[file] === 'string' ? await catRemote(remote, o[file] as string) : undefined);
  const caPem = await fileOr(cluster, 'certificate-authority-data', 'certificate-authority');
  // kubelet's rotated credentials are one file holding certificate and key (kubelet-client-current.pem).
  const certPem = pemBlocks(
    await fileOr(user, 'client-certificate-data', 'client-certificate'),
    'CERTIFICATE',
  );
  const keyPem = pemBlocks(
    (await fileOr(user, 'client-key-data', 'client-key')) ??
      (await fileOr(user, 'client-certificate-data', 'client-certificate')),
    'PRIVATE KEY',
  );
  if (!server.startsWith('https://') || !caPem || !certPem || !keyPem)
    throw new Error(
      `${path} does not hold a client-certificate identity for an https API server (server "${server}")`,
    );
  const cn = /CN=([^\n,]+)/.exec(new X509Certificate(certPem).subject)?.[1] ?? '';
  if (!cn.startsWith('system:node:'))
    throw new Error(`${path}: client certificate CN is "${cn}", not system:node:<name>`);
  return { kubeconfigPath: path, server, caPem, certPem, keyPem, nodeName: cn.slice('system:node:'.length) };
}

/** The PEM blocks of one kind (CERTIFICATE, or any "... PRIVATE KEY") from a text that may hold several kinds. */
function pemBlocks(text: string | undefined, kind: 'CERTIFICATE' | 'PRIVATE KEY'): string | undefined {
  if (text === undefined) return undefined;
  const blocks = text.match(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g) ?? [];
  const want = blocks.filter((b) =>
    kind === 'CERTIFICATE'
      ? b.startsWith('-----BEGIN CERTIFICATE-----')
      : /^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(b),
  );
  return want.length ? `${want.join('\n')}\n` : undefined;
}

async function catRemote(remote: RemoteShell, path: string): Promise<string> {
  const r = await remote.sh(`cat ${shq(path)}`, { log: false });
  if (r.code !== 0) throw new Error(`cannot read ${path}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Whether the node already runs redirected through our hub (a second convert on the same host). */
function redirected(server: string): boolean {
  return server.startsWith('http://127.0.0.1:10261');
}

export async function preflight(remote: RemoteShell, opts: PreflightOptions): Promise<NodeFacts> {
  const t0 = Date.now();
  const r = await remote.sh(FACTS_SCRIPT, { log: false });
  const t1 = Date.now();
  if (r.code !== 0)
    throw new AppError(
      'provision/preflight',
      `${remote.host}: reading node facts failed: ${r.stderr.trim()}`,
    );
  const f = kv(r.stdout);
  const checks: PreflightCheck[] = [];
  const add = (name: string, status: PreflightCheck['status'], detail: string, fix?: string) =>
    checks.push(fix ? { name, status, detail, fix } : { name, status, detail });
  const machine = f.get('machine') ?? '';
  const arch = archOf(machine);
  const facts: NodeFacts = {
    machine,
    ...(arch ? { arch } : {}),
    os: f.get('os') ?? '',
    kernel: f.get('kernel') ?? '',
    hostname: f.get('hostname') ?? '',
    hostIps: (f.get('ips') ?? '').split(/\s+/).filter(Boolean),
    checks,
  };
  add('os', 'ok', `${facts.os}, kernel ${facts.kernel}`);
  add(
    'arch',
    arch ? 'ok' : 'fail',
    arch ? `${machine} → linux-${arch} bundle` : `${machine}: no bundle for this architecture`,
  );
  const systemd = f.get('systemd') ?? '';
  add(
    'systemd',
    systemd ? 'ok' : 'fail',
    systemd || 'systemd is not the init system',
    systemd ? undefined : 'EdgeFleet runs its hub as a systemd service; this node needs systemd.',
  );
  const cgroupfs = f.get('cgroupfs') ?? '';
  const driver = f.get('cgroupDriver') ?? '';
  add(
    'cgroups',
    cgroupfs === 'cgroup2fs' && driver && driver !== 'systemd' ? 'warn' : 'ok',
    `${cgroupfs === 'cgroup2fs' ? 'cgroup v2' : `cgroup v1 (${cgroupfs})`}, kubelet cgroupDriver ${driver || 'not set'}`,
  );
  const sockets = (f.get('runtimeSockets') ?? '').trim();
  add(
    'container runtime',
    sockets ? 'ok' : 'warn',
    sockets ? `socket ${sockets}` : 'no containerd/CRI-O socket found: pods cannot start on this node',
  );
  const kubeletLine = f.get('kubelet') ?? '';
  const version = /v\d+\.\d+\.\d+/.exec(kubeletLine)?.[0];
  if (version) facts.kubeletVersion = version;
  add(
    'kubelet',
    kubeletLine ? 'ok' : 'fail',
    kubeletLine || 'kubelet is not installed',
    kubeletLine ? undefined : 'Converting needs the node already joined with kubelet.',
  );
  const swap = Number(f.get('swap') ?? '0');
  add('swap', swap > 0 ? 'warn' : 'ok', swap > 0 ? `${swap} swap device(s) active` : 'off');
  const freeOpt = Number(f.get('free:/opt') ?? '0');
  add(
    'disk /opt',
    freeOpt >= opts.needOptBytes ? 'ok' : 'fail',
    `${Math.floor(freeOpt / 2 ** 20)} MiB free, ${Math.ceil(opts.needOptBytes / 2 ** 20)} MiB needed`,
    freeOpt >= opts.needOptBytes ? undefined : 'Free space under /opt on the node and run again.',
  );
  const freeVar = Number(f.get('free:/var/lib') ?? '0');
  add(
    'disk /var/lib',
    freeVar >= 64 * 2 ** 20 ? 'ok' : 'fail',
    `${Math.floor(freeVar / 2 ** 20)} MiB free, 64 MiB needed for the hub cache`,
  );
  const clockMs = Number(f.get('clockMs') ?? '0');
  const skew = Math.round(clockMs - (t0 + t1) / 2);
  const maxSkew = opts.maxClockSkewMs ?? 30_000;
  add(
    'clock vs laptop',
    Math.abs(skew) > maxSkew ? 'fail' : Math.abs(skew) > 2_000 ? 'warn' : 'ok',
    `node clock is ${skew} ms off the laptop's (±${t1 - t0} ms)`,
    Math.abs(skew) > 2_000 ? 'Enable time sync (systemd-timesyncd or chrony) on the node.' : undefined,
  );
  const listening = new Set((f.get('listening') ?? '').split(/\s+/).filter(Boolean).map(Number));
  const hubActive = f.get('hubActive') === 'active';
  const busy = HUB_PORTS.filter((p) => listening.has(p));
  add(
    'ports',
    busy.length && !hubActive ? 'fail' : 'ok',
    busy.length
      ? `${busy.join(', ')} in use${hubActive ? ' by the EdgeFleet hub already installed' : ''}`
      : `${HUB_PORTS.join(', ')} free`,
    busy.length && !hubActive ? `Stop what listens on ${busy.join(', ')} (see "ss -ltnp").` : undefined,
  );
  if (f.get('stateRoot') === 'foreign')
    add(
      'state dir',
      'fail',
      '/var/lib/edgefleet exists but was not made by EdgeFleet provisioning',
      'Move it away first.',
    );

  if (kubeletLine && opts.join) {
    await joinIdentityChecks(remote, opts, f, facts, add, { clockMs, t1, maxSkew });
    return facts;
  }
  // Identity: which cluster and which node this kubelet is.
  if (kubeletLine) {
    const path = f.get('kubeconfig') || DEFAULT_KUBELET_KUBECONFIG;
    let creds: KubeletCredentials | undefined;
    try {
      if (hubActive) {
        // Already converted: the hub holds the identity; its copy of the originals is in the backup.
        creds = await readKubeletCredentials(remote, `/var/lib/edgefleet/backup/files${path}`);
        creds.kubeconfigPath = path;
      } else creds = await readKubeletCredentials(remote, path);
    } catch (e) {
      add(
        'kubelet identity',
        'fail',
        (e as Error).message,
        'The kubelet must be joined (kubeconfig with a node client certificate).',
      );
    }
    if (creds && !redirected(creds.server)) {
      // The private key stays on the node: facts are saved in the run's state file on the laptop.
      facts.kubelet = { ...creds, keyPem: '' };
      const same = certFingerprint(creds.caPem) === certFingerprint(opts.cluster.caPem);
      add(
        'cluster',
        same ? 'ok' : 'fail',
        same
          ? `kubelet is node "${creds.nodeName}" of this cluster (${creds.server})`
          : `this host's kubelet belongs to another cluster (${creds.server}, CA ${certFingerprint(creds.caPem).slice(0, 23)}…)`,
        same
          ? undefined
          : 'Pick the cluster this node belongs to, or reset the node first; EdgeFleet will not move a node between clusters.',
      );
      if (opts.expectNodeName && opts.expectNodeName !== creds.nodeName)
        add(
          'node name',
          'fail',
          `you asked for node "${opts.expectNodeName}" but this host's kubelet is "${creds.nodeName}"`,
        );
      const node = await opts.cluster.getNode(creds.nodeName);
      if (node) {
        const mine = node.addresses.some(
          (a) => facts.hostIps.includes(a.address) || a.address === facts.hostname,
        );
        add(
          'node name',
          mine ? 'ok' : 'fail',
          mine
            ? `Node ${creds.nodeName} is this host (${node.addresses.map((a) => a.address).join(', ')})`
            : `a Node named "${creds.nodeName}" exists with addresses ${node.addresses.map((a) => a.address).join(', ') || 'none'}, none of which is this host (${facts.hostIps.join(', ')})`,
          mine ? undefined : 'Two machines would share one node name: rename one of them before converting.',
        );
      } else add('node name', 'warn', `Node ${creds.nodeName} is not registered yet`);
      // Reachability of the API server from the node, and the cluster's clock seen from there
      // (only for our own cluster: a foreign server is not ours to contact).
      if (same) await probeApiServer(remote, creds.server, add, { clockMs, t1, maxSkew });
    }
  }
  return facts;
}

type AddCheck = (name: string, status: PreflightCheck['status'], detail: string, fix?: string) => void;

/** Reachability of the API server from the node, and the cluster's clock seen from there. */
async function probeApiServer(
  remote: RemoteShell,
  server: string,
  add: AddCheck,
  clock: { clockMs: number; t1: number; maxSkew: number },
): Promise<void> {
  const probe = await remote.sh(
    `curl -sk -o /dev/null -D - --max-time 5 ${shq(`${server}/readyz`)} | tr -d '\\r' | sed -n 's/^[Dd]ate: //p'; echo "rc=$?"`,
    { log: false },
  );
  const date = probe.stdout.split('\n')[0] ?? '';
  const parsed = Date.parse(date);
  if (!Number.isFinite(parsed)) {
    add(
      'API server reachable',
      'fail',
      `the node cannot reach ${server}`,
      "Check the node's route and firewall to the API server.",
    );
    return;
  }
  add('API server reachable', 'ok', `${server} answers from the node`);
  const cSkew = clock.clockMs + (Date.now() - clock.t1) - parsed;
  add(
    'clock vs cluster',
    Math.abs(cSkew) > clock.maxSkew ? 'fail' : 'ok',
    `node clock is ~${Math.round(cSkew / 1000)} s off the API server's (1 s resolution)`,
  );
}

/** Join: kubelet installed but not joined yet, and its node name still free in the cluster. */
async function joinIdentityChecks(
  remote: RemoteShell,
  opts: PreflightOptions,
  f: Map<string, string>,
  facts: NodeFacts,
  add: AddCheck,
  clock: { clockMs: number; t1: number; maxSkew: number },
): Promise<void> {
  const join = opts.join as NonNullable<PreflightOptions['join']>;
  const path = f.get('kubeconfig') || DEFAULT_KUBELET_KUBECONFIG;
  const exists = (await remote.sh(`[ -e ${shq(path)} ]`, { log: false })).code === 0;
  add(
    'kubelet identity',
    exists ? 'fail' : 'ok',
    exists ? `kubelet is already joined (${path} exists)` : `kubelet is not joined yet (no ${path})`,
    exists ? 'Use "convert" for a node that is already joined, or reset the node first.' : undefined,
  );
  const nodeName = join.nodeName ?? facts.hostname;
  facts.joinNodeName = nodeName;
  facts.kubeconfigPath = path;
  const node = await opts.cluster.getNode(nodeName);
  add(
    'node name',
    node ? 'fail' : 'ok',
    node
      ? `a Node named "${nodeName}" already exists (${node.addresses.map((a) => a.address).join(', ') || 'no addresses'})`
      : `node name "${nodeName}" is free in the cluster`,
    node
      ? 'Two machines would share one node name: pick another name, or delete the old Node first.'
      : undefined,
  );
  await probeApiServer(remote, join.server, add, clock);
}

/** Turns failed checks into one refusal that lists them all. */
export function refuseOnFailures(host: string, facts: NodeFacts): void {
  const fails = facts.checks.filter((c) => c.status === 'fail');
  if (!fails.length) return;
  const code = fails.some((c) => c.name === 'arch')
    ? 'refused/no-bundle'
    : fails.some((c) => c.name === 'cluster')
      ? 'refused/other-cluster'
      : fails.some((c) => c.name === 'node name')
        ? 'refused/node-name-collision'
        : fails.some((c) => c.name.startsWith('disk'))
          ? 'refused/disk-full'
          : 'refused/preflight';
  throw new RefusedError(
    code,
    `${host}: not converted, nothing was changed: ${fails.map((c) => `${c.name}: ${c.detail}`).join('; ')}`,
    fails
      .map((c) => c.fix)
      .filter(Boolean)
      .join(' ') || undefined,
  );
}
