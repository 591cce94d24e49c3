import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { assertLoopbackListen, type HubConfig } from '../api/hub-config.ts';
import { adminHandler, type Readiness } from './admin-server.ts';
import { loadOrCreateCacheKey } from './cache-key.ts';
import { CacheManager } from './cache-manager.ts';
import { CertManager } from './cert-manager.ts';
import { HealthChecker } from './health-checker.ts';
import { Journal } from './journal.ts';
import { sendJson, sendStatus } from './k8s-status.ts';
import { type Logger, stderrLogger } from './log.ts';
import { HubMetrics } from './metrics.ts';
import { journalKindOf, OfflineServer } from './offline.ts';
import { ApiProxy, refuseUpgrade } from './proxy.ts';
import { componentOf, parseRequestInfo, type RequestInfo } from './request-info.ts';
import { Storage, type StorageIo } from './storage.ts';
import { Upstream } from './upstream.ts';

export interface HubOptions {
  log?: Logger;
  /** Test hook: make the cache disk fail. */
  storageIo?: StorageIo;
}

/** Journaled writes are small (status, events); anything larger is refused rather than held in memory. */
const MAX_JOURNALED_BODY = 4 * 1024 * 1024;

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        reject(new Error(`request body over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function listen(server: http.Server, hostPort: string, field: string): Promise<AddressInfo> {
  const { host, port } = assertLoopbackListen(field, hostPort);
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `hub ${field} ${hostPort}: ${err.code ?? err.message}${err.code === 'EADDRINUSE' ? ' (is yurthub or another hub still running?)' : ''}`,
        ),
      ),
    );
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
}

/**
 * The hub: wires storage, cache, proxy, health checker, journal and listeners together and routes
 * each request — online to the cloud (teeing the cache), offline to the cache and journal.
 */
export class Hub {
  readonly config: HubConfig;
  readonly log: Logger;
  readonly metrics = new HubMetrics();
  readonly storage: Storage;
  readonly cache: CacheManager;
  readonly journal: Journal;
  private upstream!: Upstream;
  private proxy!: ApiProxy;
  private health!: HealthChecker;
  private offline!: OfflineServer;
  private readonly certs: CertManager;
  private readonly proxyServer: http.Server;
  private readonly adminServer: http.Server;
  private replayTimer: NodeJS.Timeout | undefined;
  private certsLoaded = false;
  private cacheReady = false;
  proxyAddress = '';
  adminAddress = '';

  private constructor(config: HubConfig, storage: Storage, opts: HubOptions) {
    this.config = config;
    this.log = opts.log ?? stderrLogger;
    this.storage = storage;
    this.cache = new CacheManager(storage, config.cacheAgents, this.log);
    this.journal = new Journal(config.journalDir, config.journalMaxEntries, this.log);
    this.certs = new CertManager(config.tls, this.log);
    this.proxyServer = http.createServer((req, res) => void this.handle(req, res));
    this.proxyServer.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    // Watches are long-lived; Node's default request timeouts would cut them.
    this.proxyServer.requestTimeout = 0;
    this.proxyServer.headersTimeout = 60_000;
    this.adminServer = http.createServer(adminHandler(this.metrics, () => this.readiness()));
  }

  static async start(config: HubConfig, opts: HubOptions = {}): Promise<Hub> {
    const log = opts.log ?? stderrLogger;
    const key = await loadOrCreateCacheKey(config.cacheKeyFile);
    const storage = new Storage({ root: config.cacheDir, key, log, io: opts.storageIo });
    const hub = new Hub(config, storage, opts);
    await hub.init();
    return hub;
  }

  private async init(): Promise<void> {
    // Admin first, so healthz answers (and readyz says why not ready) while the rest starts.
    this.adminAddress = addr(await listen(this.adminServer, this.config.adminListen, 'adminListen'));
    const creds = await this.certs.load();
    this.certsLoaded = true;
    this.upstream = new Upstream(this.config.servers, this.config.strategy, creds);
    this.certs.watch(60_000, (c) => this.upstream.setCredentials(c));
    await this.storage.init();
    await this.journal.init();
    this.cacheReady = true;
    this.proxy = new ApiProxy(this.upstream, this.cache, this.log);
    this.offline = new OfflineServer(this.cache, this.journal, this.log);
    this.health = new HealthChecker({
      upstream: this.upstream,
      nodeName: this.config.nodeName,
      intervalMs: this.config.heartbeatIntervalSeconds * 1000,
      kubeletSilenceMs: this.config.kubeletSilenceSeconds * 1000,
      leaseDurationSeconds: this.config.leaseDurationSeconds,
      log: this.log,
    });
    this.health.onChange((healthy) => {
      if (healthy) {
        this.offline.releaseWatches();
        void this.replayJournal();
      } else this.proxy.endWatches();
    });
    this.registerGauges();
    // Two probes so a reachable cloud is "healthy" before the first request (needs two successes).
    await this.health.probe();
    await this.health.probe();
    await this.health.start();
    this.replayTimer = setInterval(() => {
      if (this.health.isHealthy() && this.journal.size > 0) void this.replayJournal();
    }, this.config.heartbeatIntervalSeconds * 1000);
    this.replayTimer.unref();
    this.proxyAddress = addr(await listen(this.proxyServer, this.config.proxyListen, 'proxyListen'));
    this.log.info('hub.started', {
      proxy: this.proxyAddress,
      admin: this.adminAddress,
      cloudHealthy: this.health.isHealthy(),
    });
  }

  isCloudHealthy(): boolean {
    return this.health.isHealthy();
  }

  /** Runs one heartbeat now (tests; also used after a proxied request found the cloud unreachable). */
  probeNow(): Promise<void> {
    return this.health.probe();
  }

  private async replayJournal(): Promise<void> {
    try {
      await this.journal.replay(this.upstream);
    } catch (err) {
      this.log.warn('journal.replay_failed', { error: (err as Error).message });
    }
  }

  private readiness(): Readiness {
    const st = this.storage.status;
    const checks = {
      certificates: {
        ok: this.certsLoaded,
        message: this.certsLoaded ? this.certs.subject : 'not loaded yet',
      },
      cache: { ok: this.cacheReady, message: this.cacheReady ? st.message : 'not initialised yet' },
      cacheWritable: { ok: st.writable, message: st.message },
    };
    return { ready: this.certsLoaded && this.cacheReady, checks };
  }

  private registerGauges(): void {
    const m = this.metrics;
    m.gauge('edgefleet_hub_cloud_healthy', '1 while the node Lease renews, else 0.', () =>
      this.health.isHealthy() ? 1 : 0,
    );
    m.gauge(
      'edgefleet_hub_offline_seconds_total',
      'Seconds the cloud has been unreachable since start.',
      () => this.health.offlineSeconds(),
      'counter',
    );
    m.gauge(
      'edgefleet_hub_uplink_received_bytes_total',
      'Bytes received from the API servers.',
      () => this.upstream.bytesIn,
      'counter',
    );
    m.gauge(
      'edgefleet_hub_uplink_sent_bytes_total',
      'Bytes sent to the API servers.',
      () => this.upstream.bytesOut,
      'counter',
    );
    m.gauge(
      'edgefleet_hub_cache_hits_total',
      'Reads answered from the disk cache.',
      () => this.cache.hits,
      'counter',
    );
    m.gauge(
      'edgefleet_hub_cache_misses_total',
      'Cache reads that found nothing.',
      () => this.cache.misses,
      'counter',
    );
    m.gauge(
      'edgefleet_hub_cache_quarantined_files_total',
      'Corrupt cache files moved aside.',
      () => this.storage.quarantined,
      'counter',
    );
    m.gauge('edgefleet_hub_cache_writable', '1 while the cache accepts writes; 0 after ENOSPC/EROFS.', () =>
      this.storage.status.writable ? 1 : 0,
    );
    m.gauge('edgefleet_hub_cache_bytes', 'Bytes of cache files on disk.', () => this.storage.bytes());
    m.gauge('edgefleet_hub_disk_free_bytes', 'Free bytes on the cache filesystem.', () =>
      this.storage.diskFreeBytes(),
    );
    m.gauge('edgefleet_hub_journal_entries', 'Offline writes waiting for replay.', () => this.journal.size);
    m.gauge(
      'edgefleet_hub_journal_dropped_total',
      'Offline writes dropped because the journal was full.',
      () => this.journal.dropped,
      'counter',
    );
    m.gauge(
      'edgefleet_hub_lease_renewals_total',
      'Successful node Lease renewals.',
      () => this.health.renewals,
      'counter',
    );
    m.gauge(
      'edgefleet_hub_lease_failures_total',
      'Failed node Lease renewals.',
      () => this.health.failures,
      'counter',
    );
    m.gauge(
      'edgefleet_hub_client_cert_expiry_seconds',
      'Seconds until the node client certificate expires.',
      () => this.certs.secondsLeft(),
    );
  }

  private isKubeletLease(info: RequestInfo, component: string): boolean {
    return (
      component === 'kubelet' &&
      info.resource.group === 'coordination.k8s.io' &&
      info.resource.resource === 'leases' &&
      info.namespace === 'kube-node-lease' &&
      info.name === this.config.nodeName &&
      info.subresource === ''
    );
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    let info: RequestInfo;
    try {
      info = parseRequestInfo(req.method ?? 'GET', req.url ?? '/');
    } catch {
      sendStatus(res, 400, 'BadRequest', `cannot parse request path ${req.url}`);
      return;
    }
    const component = componentOf(req);
    if (component === 'kubelet') this.health.noteKubelet();
    const cacheable = this.cache.isCacheableClient(req);
    let servedBy = 'cloud';
    res.on('finish', () => this.observe(info, component, res.statusCode, servedBy, started));
    res.on('close', () => {
      if (!res.writableFinished)
        this.observe(info, component, res.headersSent ? res.statusCode : 499, servedBy, started);
    });
    try {
      if (this.isKubeletLease(info, component) && (info.verb === 'get' || info.verb === 'update')) {
        const lease = this.health.currentLease();
        if (lease || !this.health.isHealthy()) {
          servedBy = 'local';
          await this.answerLease(req, res, info);
          return;
        }
      }
      let body: Buffer | undefined;
      if (journalKindOf(info)) body = await readBody(req, MAX_JOURNALED_BODY);
      const offline = async (why: string): Promise<void> => {
        servedBy = 'cache';
        if (['get', 'list', 'watch'].includes(info.verb))
          await this.offline.read(res, info, component, cacheable, why);
        else if (info.isResource) {
          await this.offline.write(
            res,
            info,
            component,
            body ?? Buffer.alloc(0),
            String(req.headers['content-type'] ?? 'application/json'),
          );
        } else
          sendStatus(
            res,
            503,
            'ServiceUnavailable',
            `the cloud is unreachable (${why}); ${info.verb} ${info.path} is refused while offline`,
          );
      };
      if (!this.health.isHealthy()) {
        await offline('node Lease renewal failing');
        return;
      }
      this.proxy.forward({ req, res, info, component, cacheable, body }, (why) => {
        // The cloud failed between heartbeats: probe now so the state flips without waiting a tick.
        void this.health.probe();
        offline(why).catch((err: Error) => sendStatus(res, 500, 'InternalError', err.message));
      });
    } catch (err) {
      this.log.error('hub.request_failed', { path: info.path, error: (err as Error).message });
      sendStatus(res, 500, 'InternalError', `hub: ${(err as Error).message}`);
    }
  }

  private async answerLease(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    info: RequestInfo,
  ): Promise<void> {
    const lease = this.health.currentLease();
    if (info.verb === 'get') {
      if (lease) sendJson(res, 200, lease);
      else
        sendStatus(
          res,
          404,
          'NotFound',
          `leases.coordination.k8s.io "${info.name}" not known to the hub yet (cloud unreachable)`,
        );
      return;
    }
    // kubelet's renewal: the hub owns the heartbeat, so answer with its view of the Lease.
    const body = await readBody(req, MAX_JOURNALED_BODY);
    if (lease) sendJson(res, 200, lease);
    else sendJson(res, 200, JSON.parse(body.toString('utf8') || '{}'));
  }

  private observe(
    info: RequestInfo,
    component: string,
    code: number,
    servedBy: string,
    started: number,
  ): void {
    const resource = info.isResource ? info.resource.resource : 'nonresource';
    this.metrics.requests.inc({ component, verb: info.verb, resource, code: String(code) });
    this.metrics.latency.observe(
      { verb: info.verb, served_by: servedBy },
      (performance.now() - started) / 1000,
    );
  }

  private upgrade(req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void {
    if (!this.health.isHealthy()) {
      refuseUpgrade(socket, 'the cloud is unreachable; exec/attach/port-forward need the API server');
      return;
    }
    this.proxy.tunnel(req, socket, head, (why) => refuseUpgrade(socket, `the cloud is unreachable: ${why}`));
  }

  async close(): Promise<void> {
    this.health?.stop();
    this.certs.stop();
    if (this.replayTimer) clearInterval(this.replayTimer);
    this.offline?.releaseWatches();
    this.proxy?.endWatches();
    const closeServer = (s: http.Server) =>
      new Promise<void>((resolve) => {
        if (!s.listening) return resolve();
        s.close(() => resolve());
        s.closeAllConnections();
      });
    await Promise.all([closeServer(this.proxyServer), closeServer(this.adminServer)]);
    this.upstream?.close();
  }
}

function addr(a: AddressInfo): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
