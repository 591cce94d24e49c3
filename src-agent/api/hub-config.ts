/**
 * The hub's config file (`/etc/edgefleet/hub.yaml`). The app writes it when provisioning a node and
 * the hub reads it at start. The file is JSON — which is also valid YAML, so the `.yaml` name used on
 * nodes stays true without the agent carrying a YAML parser.
 */

import { TUNNEL_AGENT_ADMIN_PORT } from './tunnel-config.ts';

export type UpstreamStrategy = 'round-robin' | 'priority';

export interface HubTlsConfig {
  /** PEM client certificate the hub authenticates with (CN system:node:<node>, O system:nodes). */
  certFile: string;
  keyFile: string;
  /** PEM CA bundle that signed the API servers' serving certificates. */
  caFile: string;
}

/** OpenYurt's filter names, as used in `yurt-hub-cfg` (`servicetopology: kube-proxy,coredns`). */
export const FILTER_NAMES = [
  'servicetopology',
  'masterservice',
  'discardcloudservice',
  'nodeportisolation',
] as const;
export type FilterName = (typeof FILTER_NAMES)[number];
/** Which components each response filter applies to; absent or empty = off. */
export type FilterComponents = Partial<Record<FilterName, readonly string[]>>;

/** OpenYurt's defaults: which components each filter applies to. */
export const DEFAULT_FILTER_COMPONENTS: Readonly<Record<FilterName, readonly string[]>> = {
  servicetopology: ['kube-proxy', 'coredns'],
  masterservice: ['kubelet'],
  discardcloudservice: ['kube-proxy'],
  nodeportisolation: ['kube-proxy'],
};

/** Getting the node certificate by itself: bootstrap token → CSR → issued certificate. */
export interface HubBootstrapConfig {
  /** File holding a bootstrap token `<id>.<secret>`, used only while no valid client certificate exists. */
  tokenFile: string;
  /** `kubernetes.io/kube-apiserver-client-kubelet` (auto-approved by kube-controller-manager) or `kubernetes.io/kube-apiserver-client`. */
  signerName: string;
}

/** Central hub configuration (ConfigMaps) names; OpenYurt's `yurt-hub-cfg` plus our per-pool overrides. */
export const CENTRAL_CONFIG_NAMESPACE = 'kube-system';
export const CENTRAL_CONFIG_NAME = 'yurt-hub-cfg';
export const POOL_CONFIG_PREFIX = 'edgefleet-hub-';

export interface HubConfig {
  /** The node this hub serves; its Lease `kube-node-lease/<nodeName>` is the cloud probe. */
  nodeName: string;
  /** API server base URLs, e.g. https://10.0.0.1:6443. */
  servers: string[];
  strategy: UpstreamStrategy;
  tls: HubTlsConfig;
  /** Plain-HTTP proxy listener; must be a loopback address. */
  proxyListen: string;
  /** Admin listener (/v1/healthz, /v1/readyz, /metrics); must be a loopback address. */
  adminListen: string;
  cacheDir: string;
  journalDir: string;
  /** AES-256-GCM key file for the cache at rest; created (0600) when absent. */
  cacheKeyFile: string;
  /** Extra cacheable User-Agent prefixes beyond the built-in ones. */
  cacheAgents: string[];
  /** Seconds between Lease renewals. */
  heartbeatIntervalSeconds: number;
  /** Stop renewing the Lease when kubelet has been silent this long, so a dead kubelet still shows NotReady. */
  kubeletSilenceSeconds: number;
  /** Lease duration written into the node Lease. */
  leaseDurationSeconds: number;
  /** Upper bound on journaled offline writes; oldest events are dropped first. */
  journalMaxEntries: number;
  /** TLS listener for pods' in-cluster config (yurthub's :10268); off when absent. */
  secureProxyListen?: string;
  /** Serving certificate for the secure proxy; when absent the hub requests one (CSR, signer kubernetes.io/kubelet-serving, approved by the controller's csrapprover). */
  secureProxyTls?: { certFile: string; keyFile: string };
  /** What `default/kubernetes` points at for kubelet (the master service filter). */
  masterService?: { host: string; port: number };
  /** Filter → components, before central config overrides it. */
  filters?: FilterComponents;
  /** Bootstrap when the client certificate is missing or near expiry. */
  bootstrap?: HubBootstrapConfig;
  /** Watch `kube-system/yurt-hub-cfg` and the pool's override ConfigMap (default true). */
  centralConfig?: boolean;
  /** Seconds between cache garbage collections against the cloud (default 600). */
  gcIntervalSeconds?: number;
  /**
   * Milliseconds within which a proxied request that gets no answer proves the link cut (default 800):
   * after a quarter of it the hub asks the same server's `/livez`, which must answer in the rest. Raise
   * it on links whose round trip is over ~300 ms, or a slow answer would be taken for a cut.
   */
  cutDetectionMs?: number;
  /**
   * Cache size in bytes past which the node report calls the cache unhealthy (`CacheOverQuota`). A
   * reporting threshold: the hub does not evict or stop caching when it is passed. Unset: no quota.
   */
  cacheQuotaBytes?: number;
  /**
   * Where the node report learns the tunnel's state: the tunnel agent's loopback admin endpoint
   * (its `admin.listen`, which must be on for "connected" to be seen) and its config file, whose
   * absence means no tunnel agent is installed.
   */
  tunnelAgent?: { admin: string; configFile: string };
}

export const HUB_DEFAULTS = {
  strategy: 'round-robin',
  proxyListen: '127.0.0.1:10261',
  adminListen: '127.0.0.1:10267',
  cacheDir: '/var/lib/edgefleet/cache',
  journalDir: '/var/lib/edgefleet/journal',
  cacheKeyFile: '/var/lib/edgefleet/pki/cache.key',
  cacheAgents: [],
  heartbeatIntervalSeconds: 10,
  kubeletSilenceSeconds: 40,
  leaseDurationSeconds: 40,
  journalMaxEntries: 5000,
  masterService: { host: '169.254.2.1', port: 10268 },
  gcIntervalSeconds: 600,
  cutDetectionMs: 800,
  tunnelAgent: {
    admin: `127.0.0.1:${TUNNEL_AGENT_ADMIN_PORT}`,
    configFile: '/etc/edgefleet/tunnel-agent.yaml',
  },
} as const satisfies Partial<HubConfig>;

/** User-Agent prefixes that are always cached (yurthub's defaults plus our own agent). */
export const BUILTIN_CACHE_AGENTS = ['kubelet', 'kube-proxy', 'coredns', 'flanneld', 'edgefleet'] as const;

/** A config file that does not describe a usable hub, said with the field and how to fix it. */
export class HubConfigError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`hub config: ${field}: ${message}`);
    this.name = 'HubConfigError';
    this.field = field;
  }
}

type Json = Record<string, unknown>;

function str(obj: Json, field: string, fallback?: string): string {
  const v = obj[field] ?? fallback;
  if (typeof v !== 'string' || v === '') throw new HubConfigError(field, 'must be a non-empty string');
  return v;
}

function num(obj: Json, field: string, fallback: number): number {
  const v = obj[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new HubConfigError(field, 'must be a positive number');
  }
  return v;
}

function strList(obj: Json, field: string, fallback: readonly string[]): string[] {
  const v = obj[field] ?? fallback;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw new HubConfigError(field, 'must be a list of strings');
  }
  return [...v];
}

/** Loopback-only listeners: the proxy speaks plain HTTP and must never face the network. */
export function assertLoopbackListen(field: string, hostPort: string): { host: string; port: number } {
  const m = /^(\[?[0-9a-fA-F:.]+\]?):(\d+)$/.exec(hostPort);
  if (!m?.[1] || !m[2]) throw new HubConfigError(field, `"${hostPort}" must be host:port`);
  const host = m[1].replace(/^\[|\]$/g, '');
  if (!(host.startsWith('127.') || host === '::1')) {
    throw new HubConfigError(
      field,
      `"${host}" is not loopback; the plain-HTTP listeners bind only 127.0.0.0/8 or ::1`,
    );
  }
  return { host, port: Number(m[2]) };
}

/** Validates a parsed config file and fills defaults. */
export function parseHubConfig(raw: unknown): HubConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new HubConfigError('(root)', 'must be a JSON object');
  }
  const obj = raw as Json;
  const tlsRaw = obj.tls;
  if (typeof tlsRaw !== 'object' || tlsRaw === null) {
    throw new HubConfigError('tls', 'must be an object with certFile, keyFile, caFile');
  }
  const tls = tlsRaw as Json;
  const servers = strList(obj, 'servers', []);
  if (servers.length === 0) throw new HubConfigError('servers', 'needs at least one API server URL');
  for (const s of servers) {
    if (!/^https:\/\/[^/]+\/?$/.test(s))
      throw new HubConfigError('servers', `"${s}" must be https://host:port`);
  }
  const strategy = obj.strategy ?? HUB_DEFAULTS.strategy;
  if (strategy !== 'round-robin' && strategy !== 'priority') {
    throw new HubConfigError('strategy', 'must be "round-robin" or "priority"');
  }
  const config: HubConfig = {
    nodeName: str(obj, 'nodeName'),
    servers: servers.map((s) => s.replace(/\/$/, '')),
    strategy,
    tls: {
      certFile: str(tls, 'certFile'),
      keyFile: str(tls, 'keyFile'),
      caFile: str(tls, 'caFile'),
    },
    proxyListen: str(obj, 'proxyListen', HUB_DEFAULTS.proxyListen),
    adminListen: str(obj, 'adminListen', HUB_DEFAULTS.adminListen),
    cacheDir: str(obj, 'cacheDir', HUB_DEFAULTS.cacheDir),
    journalDir: str(obj, 'journalDir', HUB_DEFAULTS.journalDir),
    cacheKeyFile: str(obj, 'cacheKeyFile', HUB_DEFAULTS.cacheKeyFile),
    cacheAgents: strList(obj, 'cacheAgents', HUB_DEFAULTS.cacheAgents),
    heartbeatIntervalSeconds: num(obj, 'heartbeatIntervalSeconds', HUB_DEFAULTS.heartbeatIntervalSeconds),
    kubeletSilenceSeconds: num(obj, 'kubeletSilenceSeconds', HUB_DEFAULTS.kubeletSilenceSeconds),
    leaseDurationSeconds: num(obj, 'leaseDurationSeconds', HUB_DEFAULTS.leaseDurationSeconds),
    journalMaxEntries: num(obj, 'journalMaxEntries', HUB_DEFAULTS.journalMaxEntries),
  };
  if (obj.secureProxyListen !== undefined) config.secureProxyListen = str(obj, 'secureProxyListen');
  if (obj.secureProxyTls !== undefined) {
    const t = obj.secureProxyTls as Json;
    config.secureProxyTls = { certFile: str(t, 'certFile'), keyFile: str(t, 'keyFile') };
  }
  if (obj.masterService !== undefined) {
    const m = obj.masterService as Json;
    config.masterService = { host: str(m, 'host'), port: num(m, 'port', 0) };
  }
  if (obj.filters !== undefined) {
    const f = obj.filters as Json;
    const filters: FilterComponents = {};
    for (const name of Object.keys(f)) {
      if (!(FILTER_NAMES as readonly string[]).includes(name))
        throw new HubConfigError(`filters.${name}`, `unknown filter; known: ${FILTER_NAMES.join(', ')}`);
      filters[name as FilterName] = strList(f, name, []);
    }
    config.filters = filters;
  }
  if (obj.bootstrap !== undefined) {
    const b = obj.bootstrap as Json;
    config.bootstrap = {
      tokenFile: str(b, 'tokenFile'),
      signerName: str(b, 'signerName', 'kubernetes.io/kube-apiserver-client-kubelet'),
    };
  }
  if (obj.centralConfig !== undefined) config.centralConfig = obj.centralConfig !== false;
  if (obj.gcIntervalSeconds !== undefined)
    config.gcIntervalSeconds = num(obj, 'gcIntervalSeconds', HUB_DEFAULTS.gcIntervalSeconds);
  if (obj.cutDetectionMs !== undefined)
    config.cutDetectionMs = num(obj, 'cutDetectionMs', HUB_DEFAULTS.cutDetectionMs);
  if (obj.cacheQuotaBytes !== undefined) config.cacheQuotaBytes = num(obj, 'cacheQuotaBytes', 0);
  if (obj.tunnelAgent !== undefined) {
    const t = obj.tunnelAgent as Json;
    config.tunnelAgent = {
      admin: str(t, 'admin', HUB_DEFAULTS.tunnelAgent.admin),
      configFile: str(t, 'configFile', HUB_DEFAULTS.tunnelAgent.configFile),
    };
    assertLoopbackListen('tunnelAgent.admin', config.tunnelAgent.admin);
  }
  assertLoopbackListen('proxyListen', config.proxyListen);
  assertLoopbackListen('adminListen', config.adminListen);
  return config;
}
