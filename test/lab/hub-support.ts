/**
 * Shared setup for running the hub against the lab control plane (test/lab/hub*.test.ts and
 * bench/hub.ts): the cluster on loopback, a cuttable relay standing in for the node's uplink,
 * waiting for a namespace's default ServiceAccount, a SelfSubjectReview sent through a hub, and the
 * config of a hub on loopback with its state under one directory.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HubConfig } from '../../src-agent/api/hub-config.ts';
import { Cluster } from './cluster.ts';
import { freePort } from './proc.ts';

/** The lab control plane for hub tests, in `dir`/cluster, listening on loopback only. */
export function startHubLabCluster(dir: string): Promise<Cluster> {
  return Cluster.start({
    dir: join(dir, 'cluster'),
    bindAddress: '127.0.0.1',
    serviceCidr: '198.19.0.0/20',
  });
}

/**
 * Waits (bounded: `attempts` × `intervalMs`) for `namespace`'s default ServiceAccount, which
 * kube-controller-manager creates shortly after start; the API server refuses pods until then.
 */
export async function waitForDefaultServiceAccount(
  cluster: Cluster,
  namespace: string,
  attempts: number,
  intervalMs: number,
): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    const ok = await cluster.kubectl(['get', 'serviceaccount', '-n', namespace, 'default']).then(
      () => true,
      () => false,
    );
    if (ok) return;
    await sleep(intervalMs);
  }
}

/** A loopback TCP relay in front of the API server, standing in for the node's uplink: it can be cut (drop all, refuse new) and restored. */
export class LoopbackLink {
  private server: net.Server | undefined;
  private readonly conns = new Set<net.Socket>();
  port = 0;
  private readonly target: number;
  private readonly noDelay: boolean;
  /** Silently cut: connections are taken and bytes swallowed, nothing answers (a link dropping packets). */
  private dropping = false;

  /**
   * `noDelay`: turn off Nagle on both legs; without it the relay adds Nagle/delayed-ACK stalls
   * (~40 ms) that no real link has, which matters where latency is measured.
   */
  constructor(target: number, opts: { noDelay?: boolean } = {}) {
    this.target = target;
    this.noDelay = opts.noDelay ?? false;
  }

  async up(): Promise<void> {
    this.server = net.createServer((c) => {
      if (this.dropping) {
        this.conns.add(c);
        c.on('close', () => this.conns.delete(c));
        c.on('error', () => undefined);
        c.resume();
        return;
      }
      const u = net.connect(this.target, '127.0.0.1');
      for (const s of [c, u]) {
        this.conns.add(s);
        s.on('close', () => this.conns.delete(s));
        s.on('error', () => undefined);
      }
      if (this.noDelay) {
        c.setNoDelay(true);
        u.setNoDelay(true);
      }
      c.pipe(u);
      u.pipe(c);
      c.on('close', () => u.destroy());
      u.on('close', () => c.destroy());
    });
    await new Promise<void>((r) => this.server?.listen(this.port, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /**
   * Cuts the way a dead uplink does: no error, no reset — bytes in either direction vanish and new
   * connections go nowhere (they connect to the relay, then nothing answers). `cut()` instead resets
   * every connection and refuses new ones, which a client notices at once.
   */
  dropAll(): void {
    this.dropping = true;
    for (const s of this.conns) {
      s.unpipe();
      s.on('data', () => undefined);
      s.resume();
    }
  }

  async cut(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const c of this.conns) c.destroy();
    if (s) await new Promise((r) => s.close(r));
  }
}

/**
 * POSTs a SelfSubjectReview with a bearer token to a hub listener (`host:port`) and returns the
 * raw response body. With `ca`, over TLS (the secure proxy); otherwise plain HTTP. kubectl will
 * not send a bearer token over plain http, hence the raw request.
 */
export function selfSubjectReviewVia(address: string, token: string, ca?: Buffer): Promise<string> {
  const [host, port] = address.split(':');
  const options = {
    host,
    port,
    method: 'POST',
    path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  };
  return new Promise<string>((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage) => {
      let b = '';
      res.on('data', (c) => {
        b += c;
      });
      res.on('end', () => resolve(b));
    };
    const req = ca ? https.request({ ...options, ca }, onResponse) : http.request(options, onResponse);
    req.on('error', reject);
    req.end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }));
  });
}

/**
 * A hub on loopback for `nodeName` with the node certificate, its cache, journal and key under
 * `dir`/hub, free ports, and the timers long (tests drive heartbeats themselves); `extra` adds or
 * overrides fields.
 */
export async function loopbackHubConfig(o: {
  nodeName: string;
  server: string;
  cert: { cert: string; key: string };
  caFile: string;
  dir: string;
  extra?: Partial<HubConfig>;
}): Promise<HubConfig> {
  return {
    nodeName: o.nodeName,
    servers: [o.server],
    strategy: 'priority',
    tls: { certFile: o.cert.cert, keyFile: o.cert.key, caFile: o.caFile },
    proxyListen: `127.0.0.1:${await freePort()}`,
    adminListen: `127.0.0.1:${await freePort()}`,
    cacheDir: join(o.dir, 'hub', 'cache'),
    journalDir: join(o.dir, 'hub', 'journal'),
    cacheKeyFile: join(o.dir, 'hub', 'pki', 'cache.key'),
    cacheAgents: [],
    heartbeatIntervalSeconds: 3600,
    kubeletSilenceSeconds: 3600,
    leaseDurationSeconds: 40,
    journalMaxEntries: 1000,
    ...o.extra,
  };
}

/** One request; resolves the status and the whole body as text, rejects on a socket error or after `timeoutMs`. */
export function requestText(
  mod: typeof http | typeof https,
  opts: http.RequestOptions | https.RequestOptions,
  body?: string,
  timeoutMs = 15_000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = mod.request(opts, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        b += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${opts.method ?? 'GET'} ${opts.path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}
