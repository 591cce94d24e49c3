import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { isIP } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import {
  nodeNameFromCommonName,
  splitHostPort,
  type TunnelHello,
  type TunnelServerConfig,
} from '../api/tunnel-config.ts';
import type { TlsMaterial } from './agent.ts';
import { startKeepalive } from './keepalive.ts';
import { errorText, type Logger } from './log.ts';
import { NodeAddressSource } from './node-addresses.ts';
import {
  HELLO_PATH,
  HTTP2_ALPN,
  MAX_SESSION_MEMORY_MB,
  PURPOSE_HEADER,
  REASON_HEADER,
  refusalPayload,
  tunnelSettings,
  WELCOME_PATH,
  widenConnectionWindow,
} from './protocol.ts';
import { type AgentEntry, AgentRegistry } from './registry.ts';

/** Why a stream could not be opened, as an HTTP status a front door can pass on. */
export class StreamOpenError extends Error {
  readonly status: number;
  constructor(status: number, reason: string) {
    super(reason);
    this.name = 'StreamOpenError';
    this.status = status;
  }
}

/** Counters the registry does not hold (agents refused before they had an entry). */
export interface ServerCounters {
  agentRejections: Map<string, number>;
  streamOpenFailures: Map<string, number>;
}

/**
 * The cloud side: accepts agents over mutual TLS, checks that the certificate names a node
 * and that the agent claims that same node, keeps the registry, and opens streams on the right
 * agent for the front doors.
 */
export class TunnelServer {
  readonly registry: AgentRegistry;
  readonly counters: ServerCounters = { agentRejections: new Map(), streamOpenFailures: new Map() };
  private readonly cfg: TunnelServerConfig;
  private readonly log: Logger;
  private readonly tlsServer: tls.Server;
  private readonly sockets = new Set<TLSSocket>();
  private readonly nodeAddresses: NodeAddressSource | null;

  constructor(cfg: TunnelServerConfig, material: TlsMaterial, log: Logger) {
    this.cfg = cfg;
    this.log = log;
    this.registry = new AgentRegistry(log);
    this.nodeAddresses = cfg.nodeAddresses ? new NodeAddressSource(cfg.nodeAddresses.kubeconfig) : null;
    this.tlsServer = tls.createServer({
      cert: material.cert,
      key: material.key,
      ca: material.ca,
      requestCert: true,
      // Checked in onSecureConnection instead, so the refusal reason reaches log and agent.
      rejectUnauthorized: false,
      ALPNProtocols: [HTTP2_ALPN],
      handshakeTimeout: cfg.timings.connectTimeoutMs,
    });
    this.tlsServer.on('secureConnection', (s: TLSSocket) => this.onSecureConnection(s));
    this.tlsServer.on('tlsClientError', (err, s) => {
      this.reject('tls-handshake', `${s.remoteAddress ?? '?'}`, `TLS handshake failed: ${errorText(err)}`);
    });
  }

  get serverId(): string {
    return this.cfg.serverId;
  }

  async listen(): Promise<{ host: string; port: number }> {
    const { host, port } = splitHostPort(this.cfg.listen);
    await new Promise<void>((resolve, reject) => {
      this.tlsServer.once('error', reject);
      this.tlsServer.listen(port, host, () => {
        this.tlsServer.off('error', reject);
        resolve();
      });
    });
    const addr = this.tlsServer.address();
    const bound = typeof addr === 'object' && addr ? addr.port : port;
    this.log.info('tunnel server listening for agents', {
      address: `${host}:${bound}`,
      serverId: this.cfg.serverId,
    });
    return { host, port: bound };
  }

  async close(): Promise<void> {
    for (const e of this.registry.all()) e.session.destroy();
    for (const s of this.sockets) s.destroy();
    this.nodeAddresses?.close();
    await new Promise<void>((resolve) => this.tlsServer.close(() => resolve()));
  }

  /**
   * Opens a TCP stream to `host:port` on the node whose agent answers to `host` (node name or
   * one of its addresses). Throws StreamOpenError with a status and a reason a person can act on.
   */
  async openStream(host: string, port: number, purpose: string): Promise<ClientHttp2Stream> {
    const entry = this.registry.lookup(host.toLowerCase());
    if (!entry) {
      this.countFailure(purpose, 'no-agent');
      throw new StreamOpenError(
        503,
        `no tunnel agent is connected for ${host}: check that edgefleet-tunnel-agent runs on that node and can reach this server`,
      );
    }
    const authority = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
    const stream = entry.session.request({
      ':method': 'CONNECT',
      ':authority': authority,
      [PURPOSE_HEADER]: purpose,
    });
    return await new Promise<ClientHttp2Stream>((resolve, reject) => {
      const fail = (status: number, reason: string, kind: string) => {
        clearTimeout(timer);
        entry.streamsRefused++;
        this.countFailure(purpose, kind);
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(new StreamOpenError(status, reason));
      };
      const timer = setTimeout(
        () =>
          fail(504, `node ${entry.node} did not answer within ${this.cfg.streamOpenTimeoutMs} ms`, 'timeout'),
        this.cfg.streamOpenTimeoutMs,
      );
      stream.once('error', (err) =>
        fail(502, `tunnel to node ${entry.node} failed: ${errorText(err)}`, 'tunnel-error'),
      );
      stream.once('response', (headers) => {
        const status = Number(headers[':status']);
        if (status !== 200) {
          const reason = String(headers[REASON_HEADER] ?? `agent answered ${status}`);
          fail(
            status === 403 ? 403 : 502,
            `node ${entry.node} refused: ${reason}`,
            status === 403 ? 'refused-by-agent' : 'dial-failed',
          );
          return;
        }
        clearTimeout(timer);
        stream.removeAllListeners('error');
        stream.on('error', () => {}); // surfaced to the front door through 'close'
        entry.streamsOpen++;
        entry.streamsTotal++;
        stream.once('close', () => entry.streamsOpen--);
        resolve(stream);
      });
    });
  }

  private countFailure(purpose: string, kind: string): void {
    const key = `${purpose}/${kind}`;
    this.counters.streamOpenFailures.set(key, (this.counters.streamOpenFailures.get(key) ?? 0) + 1);
  }

  private reject(kind: string, remote: string, reason: string): void {
    this.counters.agentRejections.set(kind, (this.counters.agentRejections.get(kind) ?? 0) + 1);
    this.log.warn('agent refused', { remote, kind, reason });
  }

  private onSecureConnection(socket: TLSSocket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => {}); // the session's 'close' does the bookkeeping
    socket.setNoDelay(true);
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const { kind, reason, node } = checkAgentCertificate(socket);
    const session = http2.connect(`https://${node ?? 'tunnel-agent'}`, {
      createConnection: () => socket,
      settings: tunnelSettings(this.cfg.streamWindowBytes),
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
    });
    session.on('error', (err) =>
      this.log.warn('agent session error', { remote, node, error: errorText(err) }),
    );
    if (reason || !node) {
      this.reject(kind, remote, reason ?? 'no node identity');
      refuse(session, socket, reason ?? 'no node identity');
      return;
    }
    widenConnectionWindow(session);
    void this.greet(session, socket, node, remote);
  }

  /** Asks the agent who it says it is; registers it when that matches its certificate. */
  private async greet(
    session: ClientHttp2Session,
    socket: TLSSocket,
    node: string,
    remote: string,
  ): Promise<void> {
    let hello: TunnelHello;
    try {
      hello = await requestHello(session, this.cfg.timings.connectTimeoutMs);
    } catch (err) {
      this.reject('hello', remote, `node ${node}: ${errorText(err)}`);
      session.destroy();
      socket.destroy();
      return;
    }
    if (hello.node !== node) {
      const reason = `certificate is for node "${node}" but the agent says it is node "${hello.node}": an agent may only register its own node name (fix nodeName in the agent config or issue it a certificate for its node)`;
      this.reject('wrong-node', remote, reason);
      refuse(session, socket, reason);
      return;
    }
    const claimed = hello.addresses.filter((a) => isIP(a) !== 0);
    const routed = this.nodeAddresses
      ? await this.nodeAddresses.routed(node)
      : { addresses: claimed, source: 'agent' as const };
    if (routed.problem) this.log.warn('agent addresses', { node, problem: routed.problem });
    if (session.destroyed) return;
    const entry: AgentEntry = {
      node,
      hello: { ...hello, addresses: claimed },
      addresses: routed.addresses,
      addressSource: routed.source,
      session,
      socket,
      remoteAddress: remote,
      connectedSince: new Date(),
      streamsOpen: 0,
      streamsTotal: 0,
      streamsRefused: 0,
      lastPingRttMs: null,
    };
    const replaced = this.registry.add(entry);
    if (replaced) {
      this.log.info('agent reconnected; closing its previous connection', {
        node,
        previous: replaced.remoteAddress,
      });
      replaced.session.destroy();
      replaced.socket.destroy();
    }
    this.log.info('agent connected', {
      node,
      remote,
      addresses: entry.addresses.join(','),
      addressSource: entry.addressSource,
      ...(routed.source === 'node' && claimed.some((a) => !routed.addresses.includes(a))
        ? { notRouted: claimed.filter((a) => !routed.addresses.includes(a)).join(',') }
        : {}),
    });
    const welcome = session.request({ ':method': 'POST', ':path': WELCOME_PATH }, { endStream: true });
    welcome.on('error', () => {}); // a lost session is handled by its 'close'
    welcome.resume();
    const stopKeepalive = startKeepalive(session, {
      intervalMs: this.cfg.timings.pingIntervalMs,
      timeoutMs: this.cfg.timings.pingTimeoutMs,
      onRtt: (ms) => {
        entry.lastPingRttMs = ms;
      },
      onDead: (reason) => {
        this.log.warn('agent link dead', { node, remote, reason });
        session.destroy();
        socket.destroy();
      },
    });
    session.once('close', () => {
      stopKeepalive();
      socket.destroy();
      if (this.registry.lookup(node) === entry) this.log.info('agent disconnected', { node, remote });
      this.registry.remove(entry);
    });
  }
}

function checkAgentCertificate(socket: TLSSocket): {
  kind: string;
  reason: string | null;
  node: string | null;
} {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) {
    return {
      kind: 'no-certificate',
      reason: 'no client certificate presented: the agent needs tls.certFile/keyFile from the cluster CA',
      node: null,
    };
  }
  if (!socket.authorized) {
    const code = String(socket.authorizationError ?? 'unknown');
    const hint =
      code === 'CERT_HAS_EXPIRED'
        ? 'the certificate has expired: renew it through a new CSR'
        : code === 'CERT_NOT_YET_VALID'
          ? 'the certificate is not valid yet: check the node clock'
          : 'it is not signed by the cluster CA this server trusts';
    return {
      kind: code === 'CERT_HAS_EXPIRED' ? 'expired' : 'untrusted',
      reason: `client certificate rejected (${code}): ${hint}`,
      node: null,
    };
  }
  const cn = typeof cert.subject?.CN === 'string' ? cert.subject.CN : undefined;
  const node = nodeNameFromCommonName(cn);
  if (!node) {
    return {
      kind: 'not-a-node',
      reason: `client certificate CN ${JSON.stringify(cn ?? '')} is not a node identity: agents need CN system:node:<node name>`,
      node: null,
    };
  }
  return { kind: 'ok', reason: null, node };
}

/** Tells the agent why (GOAWAY debug data), then hangs up. */
function refuse(session: ClientHttp2Session, socket: TLSSocket, reason: string): void {
  const send = () => {
    try {
      session.goaway(http2.constants.NGHTTP2_REFUSED_STREAM, 0, refusalPayload(reason));
    } catch {
      // session already gone; the socket is destroyed below either way
    }
  };
  if (session.connecting) session.once('connect', send);
  else send();
  setTimeout(() => {
    session.destroy();
    socket.destroy();
  }, 500).unref();
}

function requestHello(session: ClientHttp2Session, timeoutMs: number): Promise<TunnelHello> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'GET', ':path': HELLO_PATH });
    const timer = setTimeout(() => {
      req.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`no hello within ${timeoutMs} ms`));
    }, timeoutMs);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
      if (body.length > 65_536) req.destroy(new Error('hello larger than 64 KiB'));
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('end', () => {
      clearTimeout(timer);
      try {
        const v = JSON.parse(body) as Partial<TunnelHello>;
        if (typeof v.node !== 'string' || !Array.isArray(v.addresses))
          throw new Error('hello lacks node or addresses');
        resolve({
          node: v.node,
          addresses: v.addresses.filter((a): a is string => typeof a === 'string'),
          allowedPorts: Array.isArray(v.allowedPorts)
            ? v.allowedPorts.filter((p): p is number => typeof p === 'number')
            : [],
          version: typeof v.version === 'string' ? v.version : 'unknown',
        });
      } catch (err) {
        reject(new Error(`bad hello from agent: ${errorText(err)}`));
      }
    });
    req.end();
  });
}
