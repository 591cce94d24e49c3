import { execFileSync } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

/** A CA, a 127.0.0.1 serving cert and a node client cert made with openssl, for unit tests. */
export function makeTestPki(
  dir: string,
  node = 'n1',
): { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string } {
  const p = (f: string) => join(dir, f);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=test-ca',
  ]);
  const sign = (name: string, subj: string, ext: string) => {
    run(['req', '-new', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', subj]);
    execFileSync('sh', ['-c', `printf '%s\n' '${ext}' > ${p(`${name}.ext`)}`]);
    run([
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-out',
      p(`${name}.crt`),
      '-days',
      '1',
      '-extfile',
      p(`${name}.ext`),
    ]);
  };
  sign('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1');
  sign('client', `/O=system:nodes/CN=system:node:${node}`, 'extendedKeyUsage=clientAuth');
  return {
    ca: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
  };
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  clientCN: string;
  body: string;
  /** The body's bytes as received (protobuf does not survive the UTF-8 `body`). */
  raw: Buffer;
}

type Obj = {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string };
  [k: string]: unknown;
};

/**
 * An in-memory API server just big enough for hub unit tests: pods and configmaps (list with label
 * equality selectors, get, watch), the node Lease, node/pod status writes, upgrades that echo.
 */
export class FakeApiServer {
  readonly seen: SeenRequest[] = [];
  readonly pods = new Map<string, Obj>();
  lease: Obj | undefined;
  rv = 100;
  /** Answer the next N status PUTs with 409 Conflict. */
  conflictsToSend = 0;
  /** Names of the events created so far (namespace default); PATCHes of others answer 404. */
  readonly events = new Set<string>();
  /** Lifetime of the service-account tokens this server issues. */
  tokenTtlSeconds = 3600;
  tokensIssued = 0;
  /** LIST /api/v1/namespaces/big/configmaps answers this many ConfigMaps, each with `padBytes` of data. */
  bigList = { count: 0, padBytes: 0 };
  /** LIST responses whose client (the hub) went away before the whole body was sent. */
  listsCutShort = 0;
  /** Take requests and never answer them, as behind a link that drops packets. */
  silent = false;
  /** Answer every request but `/livez` this late: a busy, reachable server. */
  delayMs = 0;
  private server: https.Server;
  private readonly sockets = new Set<Socket>();
  private readonly watchers = new Set<ServerResponse>();
  port = 0;

  constructor(pki: ReturnType<typeof makeTestPki>, readFile: (p: string) => Buffer) {
    this.server = https.createServer(
      {
        cert: readFile(pki.serverCert),
        key: readFile(pki.serverKey),
        ca: readFile(pki.ca),
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => this.handle(req, res),
    );
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
      if (head.length) socket.write(head);
      this.seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        clientCN: cn(req),
        body: '',
        raw: Buffer.alloc(0),
      });
      socket.on('data', (c: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), c])));
    });
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Drops every connection and refuses new ones, as a dead API server or cut link would. */
  async stop(): Promise<void> {
    for (const w of this.watchers) w.destroy();
    this.watchers.clear();
    await new Promise<void>((r) => {
      this.server.close(() => r());
      for (const s of this.sockets) s.destroy();
    });
  }

  addPod(name: string, labels: Record<string, string>, ns = 'default'): Obj {
    const pod: Obj = {
      metadata: { name, namespace: ns, labels, resourceVersion: String(++this.rv) },
      spec: { nodeName: 'n1' },
      status: { phase: 'Running' },
    };
    this.pods.set(`${ns}/${name}`, pod);
    this.emit('ADDED', pod);
    return pod;
  }

  modifyPod(name: string, patch: Record<string, unknown>, ns = 'default'): void {
    const pod = this.pods.get(`${ns}/${name}`);
    if (!pod) throw new Error('no pod');
    Object.assign(pod, patch);
    pod.metadata.resourceVersion = String(++this.rv);
    this.emit('MODIFIED', pod);
  }

  /** Ends open watches the way an API server does at its timeout: a clean end of stream. */
  endWatches(): void {
    for (const w of this.watchers) w.end();
    this.watchers.clear();
  }

  /** Sends a watch ERROR event (410 Gone) and ends the stream. */
  goneWatches(): void {
    for (const w of this.watchers) {
      w.end(
        `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: 'too old resource version' } })}\n`,
      );
    }
    this.watchers.clear();
  }

  private emit(type: string, pod: Obj): void {
    for (const w of this.watchers)
      w.write(`${JSON.stringify({ type, object: { kind: 'Pod', apiVersion: 'v1', ...pod } })}\n`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = raw.toString('utf8');
      this.seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        clientCN: cn(req),
        body,
        raw,
      });
      if (this.silent) return;
      if (this.delayMs > 0 && req.url !== '/livez')
        setTimeout(() => this.route(req, res, body, raw), this.delayMs);
      else this.route(req, res, body, raw);
    });
  }

  /** Item by item, waiting for the socket like a real API server, so a reader that pauses slows it down. */
  bigListBody(): Buffer {
    const parts: Buffer[] = [];
    this.writeBigList((b) => {
      parts.push(b);
      return true;
    });
    return Buffer.concat(parts);
  }

  private writeBigList(write: (b: Buffer) => boolean, from = 0): number {
    const { count, padBytes } = this.bigList;
    if (from === 0)
      write(
        Buffer.from(
          `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"${this.rv}"},"items":[`,
        ),
      );
    for (let i = from; i < count; i++) {
      const cm = {
        metadata: { name: `cm-${i}`, namespace: 'big', resourceVersion: String(1000 + i) },
        data: { pad: String(i % 10).repeat(padBytes) },
      };
      if (!write(Buffer.from(`${i === 0 ? '' : ','}${JSON.stringify(cm)}`)) && i + 1 < count) return i + 1;
    }
    write(Buffer.from(']}'));
    return count;
  }

  private async streamBigList(res: ServerResponse): Promise<void> {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.on('close', () => {
      if (!res.writableFinished) this.listsCutShort++;
    });
    let next = 0;
    while (next < this.bigList.count || next === 0) {
      next = this.writeBigList((b) => res.write(b), next);
      if (next >= this.bigList.count) break;
      const goOn = await new Promise<boolean>((r) => {
        const drained = (): void => {
          res.off('close', closed);
          r(true);
        };
        const closed = (): void => {
          res.off('drain', drained);
          r(false);
        };
        res.once('drain', drained);
        res.once('close', closed);
      });
      if (!goOn) return;
    }
    res.end();
  }

  private json(res: ServerResponse, code: number, obj: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(obj));
  }

  private route(req: IncomingMessage, res: ServerResponse, body: string, raw: Buffer) {
    const u = new URL(req.url ?? '/', 'https://x');
    const path = u.pathname;
    const m = req.method;
    if (path.startsWith('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases')) {
      if (m === 'GET')
        return this.lease
          ? this.json(res, 200, this.lease)
          : this.json(res, 404, { kind: 'Status', code: 404 });
      const l = JSON.parse(body) as Obj;
      l.metadata.resourceVersion = String(++this.rv);
      this.lease = l;
      return this.json(res, m === 'POST' ? 201 : 200, l);
    }
    if (path === '/api/v1/pods' || path === '/api/v1/namespaces/default/pods') {
      if (u.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        res.flushHeaders();
        this.watchers.add(res);
        res.on('close', () => this.watchers.delete(res));
        return;
      }
      // Label equality only (k=v[,k=v]) — enough to show that different selectors stay apart.
      const sel = (u.searchParams.get('labelSelector') ?? '')
        .split(',')
        .filter(Boolean)
        .map((s) => s.split('='));
      const items = [...this.pods.values()].filter((p) =>
        sel.every(([k, v]) => p.metadata.labels?.[k ?? ''] === v),
      );
      return this.json(res, 200, {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(this.rv) },
        items,
      });
    }
    if (path === '/api/v1/namespaces/big/configmaps' && m === 'GET') {
      void this.streamBigList(res);
      return;
    }
    const pm = /^\/api\/v1\/namespaces\/default\/pods\/([^/]+)(\/status)?$/.exec(path);
    if (pm) {
      const pod = this.pods.get(`default/${pm[1]}`);
      if (!pod)
        return this.json(res, 404, { kind: 'Status', apiVersion: 'v1', code: 404, reason: 'NotFound' });
      if (m === 'GET') return this.json(res, 200, { kind: 'Pod', apiVersion: 'v1', ...pod });
      if (m === 'PUT' && this.conflictsToSend > 0) {
        this.conflictsToSend--;
        return this.json(res, 409, { kind: 'Status', code: 409, reason: 'Conflict' });
      }
      const next = JSON.parse(body) as Obj;
      if (next.status) pod.status = next.status;
      pod.metadata.resourceVersion = String(++this.rv);
      return this.json(res, 200, { kind: 'Pod', apiVersion: 'v1', ...pod });
    }
    if (/^\/api\/v1\/nodes\/[^/]+\/status$/.test(path))
      return this.json(res, 200, { kind: 'Node', apiVersion: 'v1', metadata: { name: 'n1' } });
    if (path === '/api/v1/nodes/n1' && m === 'GET')
      return this.json(res, 200, {
        kind: 'Node',
        apiVersion: 'v1',
        metadata: { name: 'n1', resourceVersion: String(this.rv) },
      });
    if (path === '/api/v1/namespaces/default/events' && m === 'POST') {
      const ct = String(req.headers['content-type'] ?? '');
      if (ct.startsWith('application/vnd.kubernetes.protobuf')) {
        // Real API servers decode protobuf; here it is enough that the bytes arrive intact.
        if (!raw.subarray(0, 4).equals(Buffer.from('k8s\0')))
          return this.json(res, 400, { kind: 'Status', code: 400, reason: 'BadRequest' });
        this.events.add(`pb-${this.events.size}`);
        res.writeHead(201, { 'content-type': ct }).end(raw);
        return;
      }
      let ev: Obj;
      try {
        ev = JSON.parse(body) as Obj;
      } catch {
        return this.json(res, 400, { kind: 'Status', code: 400, reason: 'BadRequest' });
      }
      this.events.add(ev.metadata?.name ?? '');
      return this.json(res, 201, ev);
    }
    const em = /^\/api\/v1\/namespaces\/default\/events\/([^/]+)$/.exec(path);
    if (em && m === 'PATCH') {
      if (!this.events.has(em[1] ?? ''))
        return this.json(res, 404, { kind: 'Status', apiVersion: 'v1', code: 404, reason: 'NotFound' });
      return this.json(res, 200, { kind: 'Event', apiVersion: 'v1', metadata: { name: em[1] } });
    }
    const tm = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/.exec(path);
    if (tm && m === 'POST') {
      const n = ++this.tokensIssued;
      return this.json(res, 201, {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { name: tm[2] },
        status: {
          token: `issued-token-${n}-for-${tm[1]}-${tm[2]}`,
          expirationTimestamp: new Date(Date.now() + this.tokenTtlSeconds * 1000).toISOString(),
        },
      });
    }
    if (path === '/chunked') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      setTimeout(() => res.end('second'), 200);
      return;
    }
    this.json(res, 404, {
      kind: 'Status',
      apiVersion: 'v1',
      code: 404,
      reason: 'NotFound',
      message: `fake: no route ${m} ${path}`,
    });
  }
}

function cn(req: IncomingMessage): string {
  const c = (req.socket as TLSSocket).getPeerCertificate?.();
  return c && 'subject' in c && c.subject ? String(c.subject.CN ?? '') : '';
}
