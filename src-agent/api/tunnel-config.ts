/**
 * Config files and status shapes of the tunnel (agent on the node, server in the cloud).
 * Shared with the app (src-main) so it can write agent configs and read server status.
 *
 * Config files are JSON (valid YAML, so `/etc/edgefleet/tunnel-*.yaml` may hold it) because
 * the agent bundle carries no YAML parser.
 */

/** Ports on the agent's own node the server may open streams to, always allowed: kubelet, sshd, node-exporter. */
export const TUNNEL_DEFAULT_ALLOWED_PORTS: readonly number[] = [10250, 22, 9100];

/** Where the tunnel server listens for agents (mTLS, HTTP/2 reversed). */
export const TUNNEL_SERVER_PORT = 10262;
/** HTTP CONNECT for kube-apiserver's EgressSelectorConfiguration. */
export const TUNNEL_EGRESS_PORT = 10263;
/** HTTP CONNECT over mTLS for the app and operators (sshd by default). */
export const TUNNEL_ACCESS_PORT = 10264;
/** Plain-HTTP admin endpoint (loopback only): /metrics, /v1/agents, /v1/healthz. */
export const TUNNEL_ADMIN_PORT = 10265;
/** The agent's plain-HTTP admin endpoint on the node (loopback only): /metrics, /v1/healthz. */
export const TUNNEL_AGENT_ADMIN_PORT = 10266;

/**
 * Agent identity: the client certificate's CN is `system:node:<nodeName>`, the same subject
 * Kubernetes gives kubelet client certificates (signer kubernetes.io/kube-apiserver-client),
 * so one CSR flow serves both and a name never means two different things.
 */
export const TUNNEL_AGENT_CN_PREFIX = 'system:node:';

export function tunnelAgentCommonName(nodeName: string): string {
  return `${TUNNEL_AGENT_CN_PREFIX}${nodeName}`;
}

/** The node name a certificate CN stands for, or null when it is not an agent identity. */
export function nodeNameFromCommonName(cn: string | undefined): string | null {
  if (!cn?.startsWith(TUNNEL_AGENT_CN_PREFIX)) return null;
  const name = cn.slice(TUNNEL_AGENT_CN_PREFIX.length);
  return isValidNodeName(name) ? name : null;
}

/** A DNS-1123 subdomain, which is what Kubernetes accepts as a node name. */
export function isValidNodeName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 253 &&
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name)
  );
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** Agent: the pinned CA of the server certificate. Server: the CA that signs client certificates. */
  caFile: string;
}

export interface TunnelTimings {
  /** How often each side sends an HTTP/2 PING. */
  pingIntervalMs: number;
  /** A PING not acknowledged within this is a dead (possibly half-open) link. */
  pingTimeoutMs: number;
  /** TCP + TLS + hello must complete within this. */
  connectTimeoutMs: number;
}

export interface TunnelAgentConfig {
  nodeName: string;
  /**
   * `host:port` of every server replica. The agent keeps one connection to each, so whichever
   * replica kube-apiserver or the app reaches can route to this node (see the tunnel README).
   */
  servers: string[];
  /** Name checked against the server certificate; defaults to each server's host. */
  serverName?: string;
  tls: TlsFiles;
  /** Ports allowed in addition to TUNNEL_DEFAULT_ALLOWED_PORTS. */
  allowedPorts: number[];
  /** Where streams naming this node (by name or loopback) are dialled. Default 127.0.0.1. */
  dialAddress: string;
  /** Addresses counted as this node's own besides its interfaces' addresses. */
  extraAddresses: string[];
  timings: TunnelTimings;
  backoff: { initialMs: number; maxMs: number };
  /** HTTP/2 per-stream receive window: what one stalled stream may hold in memory. */
  streamWindowBytes: number;
  /** Loopback only (plain HTTP): /metrics, /v1/healthz. */
  admin?: { listen: string };
  /**
   * Node services on loopback only (e.g. the hub's admin 10267) that the server may reach: dialled
   * at dialAddress even when a stream names one of the node's addresses (kube-apiserver's node proxy).
   */
  loopbackPorts: number[];
}

export interface ConnectListenerAuth {
  /** Client certificates are required and must be signed by this CA. */
  tls: TlsFiles;
  /** A client is allowed when its CN is listed or one of its O values is. */
  allowedCommonNames: string[];
  allowedOrganizations: string[];
}

export interface TunnelServerConfig {
  /** Shown in status and logs; default hostname. */
  serverId: string;
  /** `host:port` for agents. */
  listen: string;
  /** Server certificate and key; caFile = CA of agent client certificates. */
  tls: TlsFiles;
  /** kube-apiserver egress (HTTPConnect). Plain TCP only on loopback; otherwise uds or mTLS. */
  egress?: {
    uds?: string;
    tcp?: string;
    auth?: ConnectListenerAuth;
    /** Default: TUNNEL_DEFAULT_ALLOWED_PORTS. */
    allowedPorts: number[];
  };
  /** App/operator access (sshd). Always mTLS. */
  access?: {
    listen: string;
    auth: ConnectListenerAuth;
    /** Default [22]. */
    allowedPorts: number[];
  };
  /** Loopback only (plain HTTP). */
  admin?: { listen: string };
  /**
   * Route `CONNECT <ip>:port` only by the InternalIP/ExternalIP of the agent's Node object
   * (read with this kubeconfig, which needs `get nodes`) instead of the addresses the agent
   * reports. Without it the agent's own list is used (the agent still dials only itself).
   */
  nodeAddresses?: { kubeconfig: string };
  timings: TunnelTimings;
  streamWindowBytes: number;
  /** How long the server waits for the agent to dial the target and answer. */
  streamOpenTimeoutMs: number;
}

/** One connected agent as `/v1/agents` reports it. */
export interface TunnelAgentStatus {
  node: string;
  /** Where the connection came from (after any NAT). */
  remoteAddress: string;
  /** Addresses that route CONNECT <ip>:port to this agent. */
  addresses: string[];
  /** Where `addresses` came from: the agent's own report, or its Node object (nodeAddresses). */
  addressSource: 'agent' | 'node';
  connectedSince: string;
  streamsOpen: number;
  streamsTotal: number;
  streamsRefused: number;
  /** Bytes on the tunnel connection (TLS records), both directions. */
  bytesFromAgent: number;
  bytesToAgent: number;
  lastPingRttMs: number | null;
  agentVersion: string;
}

export interface TunnelServerStatus {
  serverId: string;
  agents: TunnelAgentStatus[];
}

/** What the agent answers to the server's hello right after the TLS handshake. */
export interface TunnelHello {
  node: string;
  addresses: string[];
  allowedPorts: number[];
  version: string;
}

/** A config file that does not say what it must; names the field and how to fix it. */
export class TunnelConfigError extends Error {
  readonly field: string;
  constructor(source: string, field: string, problem: string) {
    super(`${source}: ${field} ${problem}`);
    this.name = 'TunnelConfigError';
    this.field = field;
  }
}

const defaultTimings: TunnelTimings = {
  pingIntervalMs: 2_000,
  pingTimeoutMs: 5_000,
  connectTimeoutMs: 5_000,
};
const DEFAULT_STREAM_WINDOW = 1 << 20;

type Obj = Record<string, unknown>;

class Reader {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
  fail(field: string, problem: string): never {
    throw new TunnelConfigError(this.source, field, problem);
  }
  obj(v: unknown, field: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'must be an object');
    return v as Obj;
  }
  str(o: Obj, key: string, field: string, def?: string): string {
    const v = o[key];
    if (v === undefined && def !== undefined) return def;
    if (typeof v !== 'string' || v === '') this.fail(field, 'must be a non-empty string');
    return v;
  }
  optStr(o: Obj, key: string, field: string): string | undefined {
    return o[key] === undefined ? undefined : this.str(o, key, field);
  }
  num(o: Obj, key: string, field: string, def: number, min: number): number {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      this.fail(field, `must be an integer >= ${min}`);
    return v;
  }
  strs(o: Obj, key: string, field: string, def: string[]): string[] {
    const v = o[key];
    if (v === undefined) return def;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === ''))
      this.fail(field, 'must be a list of strings');
    return v as string[];
  }
  ports(o: Obj, key: string, field: string, def: readonly number[]): number[] {
    const v = o[key];
    if (v === undefined) return [...def];
    if (
      !Array.isArray(v) ||
      v.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 1 || x > 65535)
    ) {
      this.fail(field, 'must be a list of TCP ports (1..65535)');
    }
    return v as number[];
  }
  /** `admin: { listen }`, plain HTTP, so loopback only; undefined when the key is absent. */
  loopbackAdmin(o: Obj, defaultPort: number): { listen: string } | undefined {
    if (o.admin === undefined) return undefined;
    const a = this.obj(o.admin, 'admin');
    const listen = this.hostPort(a, 'listen', 'admin.listen', `127.0.0.1:${defaultPort}`);
    if (!isLoopbackHost(splitHostPort(listen).host))
      this.fail('admin.listen', 'must be a loopback address (plain HTTP)');
    return { listen };
  }
  hostPort(o: Obj, key: string, field: string, def?: string): string {
    const v = this.str(o, key, field, def);
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(v))
      this.fail(field, `must be host:port, got ${JSON.stringify(v)}`);
    return v;
  }
  tls(o: Obj, key: string, field: string): TlsFiles {
    const t = this.obj(o[key], field);
    return {
      certFile: this.str(t, 'certFile', `${field}.certFile`),
      keyFile: this.str(t, 'keyFile', `${field}.keyFile`),
      caFile: this.str(t, 'caFile', `${field}.caFile`),
    };
  }
  timings(o: Obj, field: string): TunnelTimings {
    const t = o.timings === undefined ? {} : this.obj(o.timings, field);
    const r: TunnelTimings = {
      pingIntervalMs: this.num(
        t,
        'pingIntervalMs',
        `${field}.pingIntervalMs`,
        defaultTimings.pingIntervalMs,
        100,
      ),
      pingTimeoutMs: this.num(
        t,
        'pingTimeoutMs',
        `${field}.pingTimeoutMs`,
        defaultTimings.pingTimeoutMs,
        100,
      ),
      connectTimeoutMs: this.num(
        t,
        'connectTimeoutMs',
        `${field}.connectTimeoutMs`,
        defaultTimings.connectTimeoutMs,
        100,
      ),
    };
    if (r.pingIntervalMs + r.pingTimeoutMs > 10_000) {
      this.fail(
        field,
        'pingIntervalMs + pingTimeoutMs must be <= 10000 so a half-open link is noticed within 10 s',
      );
    }
    return r;
  }
  auth(v: unknown, field: string): ConnectListenerAuth {
    const a = this.obj(v, field);
    const auth = {
      tls: this.tls(a, 'tls', `${field}.tls`),
      allowedCommonNames: this.strs(a, 'allowedCommonNames', `${field}.allowedCommonNames`, []),
      allowedOrganizations: this.strs(a, 'allowedOrganizations', `${field}.allowedOrganizations`, []),
    };
    if (auth.allowedCommonNames.length + auth.allowedOrganizations.length === 0) {
      this.fail(field, 'must allow at least one client (allowedCommonNames or allowedOrganizations)');
    }
    return auth;
  }
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

export function splitHostPort(hostPort: string): { host: string; port: number } {
  const i = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(hostPort.slice(i + 1)) };
}

export function parseTunnelAgentConfig(raw: unknown, source: string): TunnelAgentConfig {
  const r = new Reader(source);
  const o = r.obj(raw, '(top level)');
  const nodeName = r.str(o, 'nodeName', 'nodeName');
  if (!isValidNodeName(nodeName))
    r.fail('nodeName', 'must be a Kubernetes node name (lowercase DNS-1123 subdomain)');
  const servers = r.strs(o, 'servers', 'servers', []);
  if (servers.length === 0) r.fail('servers', 'must list at least one tunnel server as host:port');
  for (const [i, s] of servers.entries()) r.hostPort({ s }, 's', `servers[${i}]`);
  const b = o.backoff === undefined ? {} : r.obj(o.backoff, 'backoff');
  const cfg: TunnelAgentConfig = {
    nodeName,
    servers,
    tls: r.tls(o, 'tls', 'tls'),
    allowedPorts: r.ports(o, 'allowedPorts', 'allowedPorts', []),
    loopbackPorts: r.ports(o, 'loopbackPorts', 'loopbackPorts', []),
    dialAddress: r.str(o, 'dialAddress', 'dialAddress', '127.0.0.1'),
    extraAddresses: r.strs(o, 'extraAddresses', 'extraAddresses', []),
    timings: r.timings(o, 'timings'),
    backoff: {
      initialMs: r.num(b, 'initialMs', 'backoff.initialMs', 250, 10),
      maxMs: r.num(b, 'maxMs', 'backoff.maxMs', 8_000, 10),
    },
    streamWindowBytes: r.num(o, 'streamWindowBytes', 'streamWindowBytes', DEFAULT_STREAM_WINDOW, 65_535),
  };
  const serverName = r.optStr(o, 'serverName', 'serverName');
  if (serverName) cfg.serverName = serverName;
  const admin = r.loopbackAdmin(o, TUNNEL_AGENT_ADMIN_PORT);
  if (admin) cfg.admin = admin;
  return cfg;
}

export function parseTunnelServerConfig(
  raw: unknown,
  source: string,
  defaultServerId: string,
): TunnelServerConfig {
  const r = new Reader(source);
  const o = r.obj(raw, '(top level)');
  const cfg: TunnelServerConfig = {
    serverId: r.str(o, 'serverId', 'serverId', defaultServerId),
    listen: r.hostPort(o, 'listen', 'listen', `0.0.0.0:${TUNNEL_SERVER_PORT}`),
    tls: r.tls(o, 'tls', 'tls'),
    timings: r.timings(o, 'timings'),
    streamWindowBytes: r.num(o, 'streamWindowBytes', 'streamWindowBytes', DEFAULT_STREAM_WINDOW, 65_535),
    streamOpenTimeoutMs: r.num(o, 'streamOpenTimeoutMs', 'streamOpenTimeoutMs', 10_000, 100),
  };
  if (o.egress !== undefined) {
    const e = r.obj(o.egress, 'egress');
    const egress: NonNullable<TunnelServerConfig['egress']> = {
      allowedPorts: r.ports(e, 'allowedPorts', 'egress.allowedPorts', TUNNEL_DEFAULT_ALLOWED_PORTS),
    };
    const uds = r.optStr(e, 'uds', 'egress.uds');
    if (uds) egress.uds = uds;
    if (e.tcp !== undefined) egress.tcp = r.hostPort(e, 'tcp', 'egress.tcp');
    if (e.auth !== undefined) egress.auth = r.auth(e.auth, 'egress.auth');
    if (!egress.uds && !egress.tcp) r.fail('egress', 'needs uds (a socket path) or tcp (host:port)');
    if (egress.tcp && !egress.auth && !isLoopbackHost(splitHostPort(egress.tcp).host)) {
      r.fail(
        'egress.tcp',
        'without egress.auth (mTLS) must be a loopback address: plain CONNECT elsewhere would be an open door',
      );
    }
    cfg.egress = egress;
  }
  if (o.access !== undefined) {
    const a = r.obj(o.access, 'access');
    cfg.access = {
      listen: r.hostPort(a, 'listen', 'access.listen', `0.0.0.0:${TUNNEL_ACCESS_PORT}`),
      auth: r.auth(a.auth, 'access.auth'),
      allowedPorts: r.ports(a, 'allowedPorts', 'access.allowedPorts', [22]),
    };
  }
  if (o.nodeAddresses !== undefined) {
    const n = r.obj(o.nodeAddresses, 'nodeAddresses');
    cfg.nodeAddresses = { kubeconfig: r.str(n, 'kubeconfig', 'nodeAddresses.kubeconfig') };
  }
  const admin = r.loopbackAdmin(o, TUNNEL_ADMIN_PORT);
  if (admin) cfg.admin = admin;
  return cfg;
}
