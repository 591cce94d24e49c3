import { rm } from 'node:fs/promises';
import http, { type IncomingMessage, STATUS_CODES } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { type ConnectListenerAuth, splitHostPort } from '../api/tunnel-config.ts';
import type { TlsMaterial } from './agent.ts';
import { batchedPipe } from './batched-pipe.ts';
import { errorText, type Logger } from './log.ts';
import { StreamOpenError, type TunnelServer } from './server.ts';
import { parseAuthority } from './target-policy.ts';

/**
 * An HTTP CONNECT entry into the tunnel: `CONNECT <node name or node IP>:<port>` becomes a
 * stream to that port on that node. Used by kube-apiserver (EgressSelectorConfiguration,
 * proxyProtocol HTTPConnect) and by the app/operators for sshd. Each door has its own port
 * allow-list and its own way of knowing who is asking.
 */
export interface ConnectDoorOptions {
  name: 'egress' | 'access';
  allowedPorts: readonly number[];
  /** mTLS: clients need a certificate from auth.tls.caFile with an allowed CN or O. */
  auth?: { config: ConnectListenerAuth; material: TlsMaterial };
}

export type DoorAddress = { uds: string } | { tcp: string };

export class ConnectDoor {
  private readonly server: http.Server;
  private readonly tunnel: TunnelServer;
  private readonly opts: ConnectDoorOptions;
  private readonly log: Logger;
  private readonly clients = new Set<Duplex>();
  private udsPath: string | null = null;

  constructor(tunnel: TunnelServer, opts: ConnectDoorOptions, log: Logger) {
    this.tunnel = tunnel;
    this.opts = opts;
    this.log = log;
    this.server = opts.auth
      ? https.createServer({
          cert: opts.auth.material.cert,
          key: opts.auth.material.key,
          ca: opts.auth.material.ca,
          requestCert: true,
          rejectUnauthorized: true,
        })
      : http.createServer();
    this.server.on(
      'connect',
      (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.onConnect(req, socket, head),
    );
    this.server.on('request', (_req, res: http.ServerResponse) => {
      res
        .writeHead(405, { 'content-type': 'text/plain' })
        .end(`the tunnel ${opts.name} door only serves HTTP CONNECT\n`);
    });
  }

  async listen(address: DoorAddress): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      const done = () => {
        this.server.off('error', reject);
        resolve();
      };
      if ('uds' in address) {
        this.udsPath = address.uds;
        void rm(address.uds, { force: true }).then(() => this.server.listen(address.uds, done), reject);
      } else {
        const { host, port } = splitHostPort(address.tcp);
        this.server.listen(port, host, done);
      }
    });
    const a = this.server.address();
    const where = typeof a === 'string' ? a : a ? `${a.address}:${a.port}` : '?';
    this.log.info(`tunnel ${this.opts.name} door listening`, {
      address: where,
      tls: Boolean(this.opts.auth),
    });
    return where;
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.udsPath) await rm(this.udsPath, { force: true });
  }

  private who(req: IncomingMessage): { id: string; allowed: boolean } {
    const auth = this.opts.auth;
    if (!auth) return { id: this.udsPath ? 'uds' : `${req.socket.remoteAddress}`, allowed: true };
    const cert = (req.socket as TLSSocket).getPeerCertificate();
    const cn = String(cert.subject?.CN ?? '');
    const o = cert.subject?.O;
    const orgs = Array.isArray(o) ? o.map(String) : o ? [String(o)] : [];
    const allowed =
      auth.config.allowedCommonNames.includes(cn) ||
      orgs.some((x) => auth.config.allowedOrganizations.includes(x));
    return { id: `CN=${cn}${orgs.map((x) => `,O=${x}`).join('')}`, allowed };
  }

  private async onConnect(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    this.clients.add(client);
    client.once('close', () => this.clients.delete(client));
    client.on('error', () => {});
    const who = this.who(req);
    const target = parseAuthority(req.url);
    const deny = (status: number, reason: string) => {
      this.log.warn('tunnel stream refused', {
        door: this.opts.name,
        client: who.id,
        target: req.url,
        reason,
      });
      const body = `${reason}\n`;
      // kube-apiserver shows only the status line of a failed CONNECT ("proxy error ... code
      // 503: <status>"), so the reason goes into the reason phrase too, where kubectl users see it.
      const phrase = `${STATUS_CODES[status] ?? 'Error'}: ${reason}`
        .replace(/[^\x20-\x7e]/g, ' ')
        .slice(0, 400);
      client.end(
        `HTTP/1.1 ${status} ${phrase}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    };
    if (!who.allowed) return deny(403, `client ${who.id} may not use the tunnel ${this.opts.name} door`);
    if (!target) return deny(400, `CONNECT target ${JSON.stringify(req.url)} is not host:port`);
    if (!this.opts.allowedPorts.includes(target.port)) {
      return deny(
        403,
        `port ${target.port} is not allowed through the ${this.opts.name} door (allowed: ${this.opts.allowedPorts.join(', ')})`,
      );
    }
    let stream: Awaited<ReturnType<TunnelServer['openStream']>>;
    try {
      stream = await this.tunnel.openStream(target.host, target.port, this.opts.name);
    } catch (err) {
      return deny(err instanceof StreamOpenError ? err.status : 502, errorText(err));
    }
    if (client.destroyed) {
      stream.close();
      return;
    }
    if (this.opts.name === 'access') {
      this.log.info('access stream opened', { client: who.id, target: req.url });
    }
    client.write('HTTP/1.1 200 Connection established\r\n\r\n');
    if (head.length > 0) stream.write(head);
    client.pipe(stream);
    batchedPipe(stream, client);
    // A reset on either side ends the other at once, so nobody waits on a dead half.
    stream.once('close', () => {
      if (stream.rstCode !== 0 || !client.writableEnded) client.destroy();
    });
    client.once('close', () => {
      if (!stream.destroyed && !stream.writableEnded) stream.close(0x8);
    });
  }
}
