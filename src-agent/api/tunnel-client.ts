/**
 * The client half of the tunnel's CONNECT doors, for the app (src-main may import only src-agent/api)
 * and for tests: open a TCP stream to a node port through a tunnel server.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

/**
 * Client side of a CONNECT door: resolves with a socket that is the TCP stream to the node's
 * port (e.g. hand it to ssh2 as `sock`), or rejects with the door's status and reason.
 */
export class TunnelConnectError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(target: string, status: number, reason: string) {
    super(`tunnel CONNECT ${target} failed (${status}): ${reason}`);
    this.name = 'TunnelConnectError';
    this.status = status;
    this.reason = reason;
  }
}

export interface ConnectDoorTarget {
  /** Door address: TCP host/port or a unix socket path. */
  host?: string;
  port?: number;
  path?: string;
  /** mTLS for the access door (and a TLS egress door). */
  tls?: { cert: Buffer; key: Buffer; ca: Buffer; servername?: string };
  timeoutMs?: number;
}

export function openTunnelStream(door: ConnectDoorTarget, target: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const sock: net.Socket = door.path
      ? net.connect(door.path)
      : door.tls
        ? tls.connect({ host: door.host, port: door.port, ...tlsOptions(door.tls, door.host) })
        : net.connect({ host: door.host ?? '127.0.0.1', port: door.port ?? 0 });
    const ready = door.tls && !door.path ? 'secureConnect' : 'connect';
    const timer = setTimeout(
      () => sock.destroy(new Error(`no answer within ${door.timeoutMs ?? 15_000} ms`)),
      door.timeoutMs ?? 15_000,
    );
    let buf = Buffer.alloc(0);
    // Read the answer in paused ('readable') mode so no byte after it is consumed; removing
    // the listener afterwards leaves the socket neither flowing nor paused for the caller.
    const onReadable = () => {
      for (let c = sock.read() as Buffer | null; c !== null; c = sock.read() as Buffer | null)
        buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('readable', onReadable);
      const head = buf.subarray(0, end).toString('latin1');
      const rest = buf.subarray(end + 4);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      if (status === 200) {
        clearTimeout(timer);
        sock.off('error', onError);
        if (rest.length > 0) sock.unshift(rest);
        resolve(sock);
        return;
      }
      const reasonHeader = /^x-edgefleet-reason: (.*)$/im.exec(head)?.[1];
      let body = rest.toString('utf8');
      sock.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      sock.once('end', () => {
        clearTimeout(timer);
        sock.destroy();
        reject(
          new TunnelConnectError(
            target,
            status,
            (reasonHeader ?? body).trim() || head.split('\r\n')[0] || 'no reason',
          ),
        );
      });
    };
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(new TunnelConnectError(target, 0, `could not reach the tunnel door: ${err.message}`));
    };
    sock.on('error', onError);
    sock.once(ready, () => {
      sock.on('readable', onReadable);
      sock.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    });
  });
}

/** SNI must not be an IP address (RFC 6066); Node still checks the certificate against the host. */
function tlsOptions(
  t: NonNullable<ConnectDoorTarget['tls']>,
  host: string | undefined,
): tls.ConnectionOptions {
  const name = t.servername ?? host;
  return {
    cert: t.cert,
    key: t.key,
    ca: t.ca,
    ...(name && net.isIP(name) === 0 ? { servername: name } : {}),
  };
}
