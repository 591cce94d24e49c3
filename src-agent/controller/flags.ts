/** Command-line flags of `edgefleet-agent controller`. */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

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
  --leader-elect[=true|false]    elect one active replica through a Lease (default true)
  --leader-elect-namespace <ns>  namespace of the Lease (default: the pod's, else kube-system)
  --leader-elect-name <name>     name of the Lease (default edgefleet-controller)
  --leader-elect-identity <id>   this replica's identity (default: hostname + random suffix)
  --lease-duration <seconds>     lease duration (default 10)
  --metrics-addr <host:port>     /metrics and /healthz (default 127.0.0.1:10271; "0" disables)
  --workers <n>                  reconcile workers per controller (default 4)
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

export function parseFlags(args: string[]): ControllerFlags {
  const f: ControllerFlags = {
    leaderElect: true,
    leaderElectNamespace: podNamespace() ?? 'kube-system',
    leaderElectName: 'edgefleet-controller',
    identity: `${hostname()}_${Math.random().toString(36).slice(2, 8)}`,
    leaseDurationSeconds: 10,
    metricsAddr: '127.0.0.1:10271',
    workers: 4,
    resyncSeconds: 600,
    controllers: [...ALL_CONTROLLERS],
    webhookAddr: '0',
    webhookCertFile: `${DEFAULT_WEBHOOK_CERT_DIR}/tls.crt`,
    webhookKeyFile: `${DEFAULT_WEBHOOK_CERT_DIR}/tls.key`,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new FlagError(`${name} needs a value\n${CONTROLLER_USAGE}`);
      return v;
    };
    const int = (min: number): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) throw new FlagError(`${name}: "${v}" is not an integer ≥ ${min}`);
      return n;
    };
    switch (name) {
      case '--kubeconfig':
        f.kubeconfig = value();
        break;
      case '--context':
        f.context = value();
        break;
      case '--leader-elect':
        if (inline !== undefined && inline !== 'true' && inline !== 'false') {
          throw new FlagError(`--leader-elect: "${inline}" is not true or false`);
        }
        f.leaderElect = inline !== 'false';
        break;
      case '--leader-elect-namespace':
        f.leaderElectNamespace = value();
        break;
      case '--leader-elect-name':
        f.leaderElectName = value();
        break;
      case '--leader-elect-identity':
        f.identity = value();
        break;
      case '--lease-duration':
        f.leaseDurationSeconds = int(2);
        break;
      case '--metrics-addr':
        f.metricsAddr = value();
        break;
      case '--workers':
        f.workers = int(1);
        break;
      case '--resync':
        f.resyncSeconds = int(0);
        break;
      case '--controllers': {
        const list = value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        for (const c of list) {
          if (!(ALL_CONTROLLERS as readonly string[]).includes(c)) {
            throw new FlagError(
              `--controllers: unknown controller "${c}" (known: ${ALL_CONTROLLERS.join(', ')})`,
            );
          }
        }
        f.controllers = list as ControllerName[];
        break;
      }
      case '--webhook-addr':
        f.webhookAddr = value();
        break;
      case '--webhook-cert-file':
        f.webhookCertFile = value();
        break;
      case '--webhook-key-file':
        f.webhookKeyFile = value();
        break;
      case '--help':
      case '-h':
        throw new FlagError(CONTROLLER_USAGE);
      default:
        throw new FlagError(`unknown flag ${name}\n${CONTROLLER_USAGE}`);
    }
  }
  return f;
}
