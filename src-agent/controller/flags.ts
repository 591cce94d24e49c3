/** Command-line flags of `edgefleet-agent controller`. */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';

export const ALL_CONTROLLERS = ['nodepool', 'yurtappset', 'autonomy', 'csrapprover'] as const;
export type ControllerName = (typeof ALL_CONTROLLERS)[number];

export interface ControllerFlags {
  kubeconfig?: string;
  context?: string;
  leaderElect: boolean;
  leaderElectNamespace: string;
  leaderElectName: string;
  identity: string;
  leaseDurationSeconds: number;
  metricsAddr: string;
  workers: number;
  /** Workers of the NodePool controller's per-node queue (one PATCH per key). */
  nodeWorkers: number;
  resyncSeconds: number;
  controllers: ControllerName[];
  /** Mutating webhook (endpoints of autonomous nodes); "0" disables it. */
  webhookAddr: string;
  webhookCertFile: string;
  webhookKeyFile: string;
}

export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** Where the manifest mounts the webhook's kubernetes.io/tls Secret. */
export const DEFAULT_WEBHOOK_CERT_DIR = '/etc/edgefleet/webhook-certs';

export const CONTROLLER_USAGE = `usage: edgefleet-agent controller [flags]
  --kubeconfig <file>            kubeconfig (default: $KUBECONFIG, else the pod's service account)
  --context <name>               kubeconfig context
  --leader-elect [true|false]    elect one active replica through a Lease (default true;
                                 also --leader-elect=false, --no-leader-elect)
  --leader-elect-namespace <ns>  namespace of the Lease (default: the pod's, else kube-system)
  --leader-elect-name <name>     name of the Lease (default edgefleet-controller)
  --leader-elect-identity <id>   this replica's identity (default: hostname + random suffix)
  --lease-duration <seconds>     lease duration (default 10)
  --metrics-addr <host:port>     /metrics and /healthz (default 127.0.0.1:10271; "0" disables)
  --workers <n>                  reconcile workers per controller (default 4)
  --node-workers <n>             workers writing pool settings onto Nodes (default 12): each is
                                 one PATCH per node, so throughput is workers / API round trip
  --resync <seconds>             full resync period (default 600)
  --controllers <a,b>            subset of ${ALL_CONTROLLERS.join(',')} (default all)
  --webhook-addr <host:port>     HTTPS mutating webhook keeping endpoints of autonomous, cut-off
                                 nodes ready (default "0": off; in-cluster 0.0.0.0:10272)
  --webhook-cert-file <file>     webhook serving certificate (default ${DEFAULT_WEBHOOK_CERT_DIR}/tls.crt)
  --webhook-key-file <file>      its private key (default ${DEFAULT_WEBHOOK_CERT_DIR}/tls.key)`;

function podNamespace(): string | undefined {
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
  } catch {
    return undefined;
  }
}

const OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  'leader-elect': { type: 'boolean' },
  'leader-elect-namespace': { type: 'string' },
  'leader-elect-name': { type: 'string' },
  'leader-elect-identity': { type: 'string' },
  'lease-duration': { type: 'string' },
  'metrics-addr': { type: 'string' },
  workers: { type: 'string' },
  'node-workers': { type: 'string' },
  resync: { type: 'string' },
  controllers: { type: 'string' },
  'webhook-addr': { type: 'string' },
  'webhook-cert-file': { type: 'string' },
  'webhook-key-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * parseArgs takes no value for a boolean, but Kubernetes components accept `--leader-elect=false`
 * and `--leader-elect false`: rewrite those to the boolean and its negation first.
 */
function normalizeBooleans(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const m = /^--leader-elect(?:=(.*))?$/.exec(arg);
    if (!m) {
      out.push(arg);
      continue;
    }
    let v = m[1];
    if (v === undefined && (args[i + 1] === 'true' || args[i + 1] === 'false')) v = args[++i];
    if (v !== undefined && v !== 'true' && v !== 'false') {
      throw new FlagError(`--leader-elect: "${v}" is not true or false`);
    }
    out.push(v === 'false' ? '--no-leader-elect' : '--leader-elect');
  }
  return out;
}

function int(name: string, v: string | undefined, min: number, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new FlagError(`--${name}: "${v}" is not an integer ≥ ${min}`);
  return n;
}

function controllerList(v: string | undefined): ControllerName[] {
  if (v === undefined) return [...ALL_CONTROLLERS];
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const c of list) {
    if (!(ALL_CONTROLLERS as readonly string[]).includes(c)) {
      throw new FlagError(`--controllers: unknown controller "${c}" (known: ${ALL_CONTROLLERS.join(', ')})`);
    }
  }
  return list as ControllerName[];
}

export function parseFlags(args: string[]): ControllerFlags {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
  try {
    ({ values } = parseArgs({
      args: normalizeBooleans(args),
      options: OPTIONS,
      strict: true,
      allowPositionals: false,
      allowNegative: true,
    }));
  } catch (e) {
    if (e instanceof FlagError) throw e;
    throw new FlagError(`${(e as Error).message}\n${CONTROLLER_USAGE}`);
  }
  if (values.help) throw new FlagError(CONTROLLER_USAGE);
  const f: ControllerFlags = {
    leaderElect: values['leader-elect'] ?? true,
    leaderElectNamespace: values['leader-elect-namespace'] ?? podNamespace() ?? 'kube-system',
    leaderElectName: values['leader-elect-name'] ?? 'edgefleet-controller',
    identity: values['leader-elect-identity'] ?? `${hostname()}_${Math.random().toString(36).slice(2, 8)}`,
    leaseDurationSeconds: int('lease-duration', values['lease-duration'], 2, 10),
    metricsAddr: values['metrics-addr'] ?? '127.0.0.1:10271',
    workers: int('workers', values.workers, 1, 4),
    nodeWorkers: int('node-workers', values['node-workers'], 1, 12),
    resyncSeconds: int('resync', values.resync, 0, 600),
    controllers: controllerList(values.controllers),
    webhookAddr: values['webhook-addr'] ?? '0',
    webhookCertFile: values['webhook-cert-file'] ?? `${DEFAULT_WEBHOOK_CERT_DIR}/tls.crt`,
    webhookKeyFile: values['webhook-key-file'] ?? `${DEFAULT_WEBHOOK_CERT_DIR}/tls.key`,
  };
  if (values.kubeconfig !== undefined) f.kubeconfig = values.kubeconfig;
  if (values.context !== undefined) f.context = values.context;
  return f;
}
