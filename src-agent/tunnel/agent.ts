import http2, { type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { splitHostPort, type TunnelAgentConfig, type TunnelHello } from '../api/tunnel-config.ts';
import { Backoff } from './backoff.ts';
import { batchedPipe } from './batched-pipe.ts';
import { startKeepalive } from './keepalive.ts';
import { errorText, type Logger } from './log.ts';
import {
  HELLO_PATH,
  HTTP2_ALPN,
  MAX_SESSION_MEMORY_MB,
  NGHTTP2_CANCEL,
  parseRefusal,
  REASON_HEADER,
  tunnelSettings,
  WELCOME_PATH,
  widenConnectionWindow,
} from './protocol.ts';
import { TargetPolicy } from './target-policy.ts';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/** Dial of a tunnelled target: TCP connect must finish within this. */
const DIAL_TIMEOUT_MS = 5_000;

/**
 * The node side: keeps one mutual-TLS connection to every configured server and serves the
 * streams each server opens on it (HTTP/2 with roles reversed, see protocol.ts).
 */
export class TunnelAgent {
  private readonly cfg: TunnelAgentConfig;
  private readonly material: TlsMaterial;
  private readonly log: Logger;
  private readonly version: string;
  readonly policy: TargetPolicy;
  private readonly links: ServerLink[] = [];

  constructor(cfg: TunnelAgentConfig, material: TlsMaterial, log: Logger, version: string) {
    this.cfg = cfg;
    this.material = material;
    this.log = log;
    this.version = version;
    this.policy = new TargetPolicy(cfg);
  }

  start(): void {
    for (const server of this.cfg.servers) {
      const link = new ServerLink(server, this);
      this.links.push(link);
      void link.run();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.links.map((l) => l.stop()));
  }

  /** Per server replica: connection state and counters (the agent's metrics). */
  linkStats(): LinkStats[] {
    return this.links.map((l) => l.snapshot());
  }

  /** @internal used by ServerLink */
  get internals() {
    return {
      cfg: this.cfg,
      material: this.material,
      log: this.log,
      version: this.version,
      policy: this.policy,
    };
  }
}

export interface LinkStats {
  server: string;
  connected: boolean;
  connections: number;
  connectFailures: number;
  streamsOpen: number;
  streams: number;
  streamsRefused: number;
  dialFailures: number;
  bytesReceived: number;
  bytesSent: number;
}

class ServerLink {
  private readonly server: string;
  private readonly stats: Omit<LinkStats, 'server' | 'connected'> = {
    connections: 0,
    connectFailures: 0,
    streamsOpen: 0,
    streams: 0,
    streamsRefused: 0,
    dialFailures: 0,
    bytesReceived: 0,
    bytesSent: 0,
  };
  private registered = false;
  private readonly agent: TunnelAgent;
  private readonly backoff: Backoff;
  private stopped = false;
  private socket: tls.TLSSocket | null = null;
  private wake: (() => void) | null = null;
  /** Marks the current connection as ended by us, so its log line says so. */
  private stopping: (() => void) | null = null;
  private done: Promise<void> = Promise.resolve();

  constructor(server: string, agent: TunnelAgent) {
    this.server = server;
    this.agent = agent;
    const { cfg } = agent.internals;
    this.backoff = new Backoff(cfg.backoff.initialMs, cfg.backoff.maxMs);
  }

  async run(): Promise<void> {
    let finish = () => {};
    this.done = new Promise((r) => {
      finish = r;
    });
    const { log } = this.agent.internals;
    while (!this.stopped) {
      await this.connectOnce();
      if (this.stopped) break;
      const delay = this.backoff.next();
      log.info('reconnecting after backoff', { server: this.server, delayMs: delay });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
    finish();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping?.();
    this.socket?.destroy();
    this.wake?.();
    await this.done;
  }

  snapshot(): LinkStats {
    const live = this.socket;
    return {
      server: this.server,
      connected: this.registered,
      ...this.stats,
      // Closed connections are folded into the totals on close; the live one is read as it goes.
      bytesReceived: this.stats.bytesReceived + (live?.bytesRead ?? 0),
      bytesSent: this.stats.bytesSent + (live?.bytesWritten ?? 0),
    };
  }

  /** One connection's life: resolves when it is over, whatever the reason (already logged). */
  private connectOnce(): Promise<void> {
    const { cfg, material, log } = this.agent.internals;
    const { host, port } = splitHostPort(this.server);
    const servername = cfg.serverName ?? host;
    return new Promise((resolve) => {
      let registered = false;
      let endReason = 'connection closed by the server';
      // A refusal explains everything that follows (session errors, close), so it is kept.
      let refusal: string | null = null;
      const socket = tls.connect({
        host,
        port,
        ...(net.isIP(servername) ? {} : { servername }),
        cert: material.cert,
        key: material.key,
        ca: material.ca,
        ALPNProtocols: [HTTP2_ALPN],
        rejectUnauthorized: true,
        checkServerIdentity: (_h, cert) => tls.checkServerIdentity(servername, cert),
      });
      this.socket = socket;
      this.stopping = () => {
        refusal = 'agent stopping';
      };
      socket.setNoDelay(true);
      const deadline = setTimeout(() => {
        endReason = `no hello from the server within ${cfg.timings.connectTimeoutMs} ms (TCP/TLS did not complete, or the server is not a tunnel server)`;
        socket.destroy();
      }, cfg.timings.connectTimeoutMs);
      socket.on('error', (err) => {
        endReason = tlsErrorHint(err);
      });
      socket.on('close', () => {
        clearTimeout(deadline);
        this.socket = null;
        this.registered = false;
        this.stats.bytesReceived += socket.bytesRead;
        this.stats.bytesSent += socket.bytesWritten;
        if (!registered) this.stats.connectFailures++;
        const reason = refusal ?? endReason;
        if (registered) log.warn('tunnel lost', { server: this.server, reason });
        else log.error('could not connect to tunnel server', { server: this.server, reason });
        resolve();
      });
      socket.once('secureConnect', () => {
        if (socket.alpnProtocol !== HTTP2_ALPN) {
          endReason = `server did not negotiate ALPN h2 (got ${String(socket.alpnProtocol)}): is ${this.server} a tunnel server?`;
          socket.destroy();
          return;
        }
        const h2 = http2.createServer({
          settings: tunnelSettings(cfg.streamWindowBytes),
          maxSessionMemory: MAX_SESSION_MEMORY_MB,
        });
        h2.on('session', (session: Http2Session) => {
          widenConnectionWindow(session);
          session.on('error', (err) => {
            endReason = `HTTP/2 session error: ${errorText(err)}`;
          });
          session.on('goaway', (_code: number, _last: number, data?: Buffer) => {
            const refused = parseRefusal(data);
            if (refused) refusal = `server refused this agent: ${refused}`;
            else if (registered) endReason = 'server is going away (shutdown or replaced this connection)';
          });
          const stopKeepalive = startKeepalive(session, {
            intervalMs: cfg.timings.pingIntervalMs,
            timeoutMs: cfg.timings.pingTimeoutMs,
            onDead: (reason) => {
              endReason = reason;
              session.destroy();
              socket.destroy();
            },
          });
          session.on('close', () => {
            stopKeepalive();
            socket.destroy();
          });
        });
        h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
          if (headers[':method'] === 'GET' && headers[':path'] === HELLO_PATH) {
            this.answerHello(stream);
            return;
          }
          if (headers[':method'] === 'POST' && headers[':path'] === WELCOME_PATH) {
            stream.respond({ ':status': 204 }, { endStream: true });
            if (!registered) {
              registered = true;
              this.registered = true;
              this.stats.connections++;
              clearTimeout(deadline);
              this.backoff.reset();
              log.info('connected to tunnel server', { server: this.server, node: cfg.nodeName });
            }
            return;
          }
          this.serveStream(stream, headers);
        });
        h2.emit('connection', socket);
      });
    });
  }

  private answerHello(stream: ServerHttp2Stream): void {
    const { cfg, policy, version } = this.agent.internals;
    const hello: TunnelHello = {
      node: cfg.nodeName,
      addresses: policy.routableAddresses(),
      allowedPorts: [...policy.ports],
      version,
    };
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(JSON.stringify(hello));
  }

  /** A CONNECT from the server: check the policy, dial, then splice the two byte streams. */
  private serveStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const { policy, log } = this.agent.internals;
    stream.on('error', () => {}); // reported through 'close' and the peer; nothing to add here
    if (headers[':method'] !== 'CONNECT') {
      stream.respond(
        { ':status': 405, [REASON_HEADER]: 'the tunnel agent only serves CONNECT' },
        { endStream: true },
      );
      return;
    }
    const target = headers[':authority'];
    const decision = policy.decide(target);
    this.stats.streams++;
    if (!decision.ok) {
      this.stats.streamsRefused++;
      log.warn('refused stream', { server: this.server, target, reason: decision.reason });
      stream.respond({ ':status': 403, [REASON_HEADER]: decision.reason }, { endStream: true });
      return;
    }
    const sock = net.connect({ host: decision.dialHost, port: decision.port });
    sock.setNoDelay(true);
    this.stats.streamsOpen++;
    let connected = false;
    const dialTimer = setTimeout(
      () => sock.destroy(new Error(`no answer within ${DIAL_TIMEOUT_MS} ms`)),
      DIAL_TIMEOUT_MS,
    );
    sock.once('connect', () => {
      clearTimeout(dialTimer);
      connected = true;
      if (stream.destroyed) {
        sock.destroy();
        return;
      }
      stream.respond({ ':status': 200 });
      sock.pipe(stream);
      batchedPipe(stream, sock);
    });
    sock.on('error', (err) => {
      clearTimeout(dialTimer);
      if (!connected) this.stats.dialFailures++;
      if (!connected && !stream.destroyed) {
        const reason = `dial ${decision.dialHost}:${decision.port} on node failed: ${errorText(err)}`;
        log.warn('stream dial failed', { server: this.server, target, reason });
        stream.respond({ ':status': 502, [REASON_HEADER]: reason }, { endStream: true });
      }
    });
    sock.on('close', (hadError) => {
      if (hadError && connected && !stream.destroyed) stream.close(NGHTTP2_CANCEL);
    });
    sock.once('close', () => {
      this.stats.streamsOpen--;
    });
    stream.on('close', () => {
      // Normal ends were already passed on by pipe (FIN both ways); this covers resets and a lost tunnel.
      if (!sock.destroyed && (stream.rstCode !== 0 || !sock.writableEnded)) sock.destroy();
    });
  }
}

function tlsErrorHint(err: Error & { code?: string }): string {
  const msg = errorText(err);
  if (/certificate|self.signed|altnames|unable to (get|verify)/i.test(msg)) {
    return `${msg} — the server certificate does not match the pinned CA or the server name; check tls.caFile and serverName`;
  }
  if (/alert/i.test(msg)) return `${msg} — the server rejected this agent's TLS client certificate`;
  return msg;
}
