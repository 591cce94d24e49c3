import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { assertLoopbackListen, HUB_DEFAULTS, type HubConfig } from '../api/hub-config.ts';
import { adminHandler, type Readiness } from './admin-server.ts';
import { AutonomyReporter } from './autonomy-condition.ts';
import { ensureClientCert, ensureServingCert, rotationDue } from './bootstrap.ts';
import { collectGarbage, type GcResult } from './cache-gc.ts';
import { loadOrCreateCacheKey } from './cache-key.ts';
import { CacheManager } from './cache-manager.ts';
import { CacheResync } from './cache-resync.ts';
import { CentralConfig, type EffectiveSettings } from './central-config.ts';
import { CertManager } from './cert-manager.ts';
import { CloudView } from './cloud-view.ts';
import { FilterChain } from './filters/chain.ts';
import { createTransform } from './filters/transform.ts';
import { HealthChecker, type Lease } from './health-checker.ts';
import { Journal } from './journal.ts';
import { sendJson, sendStatus } from './k8s-status.ts';
import { LinkCheck } from './link-check.ts';
import { type Logger, stderrLogger } from './log.ts';
import { HUB_METRICS, HubMetrics } from './metrics.ts';
import { hubReportSources, NodeReporter } from './node-report.ts';
import { OfflineServer, offlineNeedsBody } from './offline.ts';
import { registerOfflineMetrics } from './offline-metrics.ts';
import { ApiProxy, refuseUpgrade } from './proxy.ts';
import { componentOf, parseRequestInfo, type RequestInfo } from './request-info.ts';
import { type ObjectKey, Storage, type StorageIo } from './storage.ts';
import { isTokenRequest, TokenCache } from './token-cache.ts';
import { Upstream } from './upstream.ts';

export interface HubOptions {
  log?: Logger;
  /** Test hook: make the cache disk fail. */
  storageIo?: StorageIo;
  /** How often a cache disk that refused writes is tried again (default 5 s; tests use less). */
  diskRecheckMs?: number;
  /** Floor between node report writes (default REPORT_MIN_INTERVAL_MS; tests use less). */
  nodeReportMinIntervalMs?: number;
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
  private linkCheck!: LinkCheck;
  private resync!: CacheResync;
  private diskTimer: NodeJS.Timeout | undefined;
  private diskChecking = false;
  private readonly diskRecheckMs: number;
  private offline!: OfflineServer;
  private tokens!: TokenCache;
  private readonly certs: CertManager;
  private central!: CentralConfig;
  private cloud!: CloudView;
  private filters!: FilterChain;
  private readonly proxyServer: http.Server;
  private readonly adminServer: http.Server;
  private replayTimer: NodeJS.Timeout | undefined;
  private rotateTimer: NodeJS.Timeout | undefined;
  private secureProxyRetry: NodeJS.Timeout | undefined;
  private secureProxyRetryMs = 30_000;
  private secureServer: https.Server | undefined;
  private closed = false;
  private gcTimer: NodeJS.Timeout | undefined;
  private autonomy!: AutonomyReporter;
  /** Publishes the node report annotation (tests tick it). */
  nodeReport!: NodeReporter;
  private readonly nodeReportMinIntervalMs: number | undefined;
  private gcRunning: Promise<GcResult | undefined> | undefined;
  secureProxyAddress = '';
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
    this.diskRecheckMs = opts.diskRecheckMs ?? 5_000;
    this.nodeReportMinIntervalMs = opts.nodeReportMinIntervalMs;
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
    await this.ensureClientCertAtStart();
    const creds = await this.certs.load();
    this.certsLoaded = true;
    this.upstream = new Upstream(this.config.servers, this.config.strategy, creds);
    this.certs.watch(60_000, (c) => this.upstream.setCredentials(c));
    void this.scheduleRotation();
    await this.storage.init();
    await this.journal.init();
    this.cacheReady = true;
    this.cloud = new CloudView(this.config.nodeName, this.upstream, this.log);
    this.central = new CentralConfig(this.config, this.upstream, this.storage, this.log);
    this.central.onChange((s) => void this.applySettings(s));
    this.filters = new FilterChain({
      pools: this.cloud.pools,
      services: (ns, name) => this.cloud.serviceAnnotations(ns, name),
      masterService: () => this.masterServiceServed(),
      components: () => this.central.current.filters,
    });
    this.cloud.onTopologyChange(() => this.filters.refilter());
    this.cloud.pools.onChange(() => this.central.setPool(this.cloud.pools.ownPool()));
    if (this.config.centralConfig !== false) {
      await this.central.start();
      this.cloud.watchOwnNode();
    }
    this.linkCheck = new LinkCheck(this.upstream, this.config.cutDetectionMs ?? HUB_DEFAULTS.cutDetectionMs);
    this.proxy = new ApiProxy(this.upstream, this.cache, this.log, this.linkCheck);
    this.offline = new OfflineServer(this.cache, this.journal, this.log, this.config.nodeName);
    this.tokens = new TokenCache(this.storage, this.upstream, this.log, () => this.cache.cachesSecrets);
    this.health = new HealthChecker({
      upstream: this.upstream,
      nodeName: this.config.nodeName,
      intervalMs: this.config.heartbeatIntervalSeconds * 1000,
      kubeletSilenceMs: this.config.kubeletSilenceSeconds * 1000,
      leaseDurationSeconds: this.config.leaseDurationSeconds,
      log: this.log,
      // One small write per renewal; a failing disk only means the next restart starts without it.
      onLease: (lease) => void this.storage.put(this.leaseKey(), lease).catch(() => undefined),
    });
    const saved = await this.storage.get(this.leaseKey()).catch(() => undefined);
    if (saved) this.health.seedLease(saved as Lease);
    this.autonomy = new AutonomyReporter(this.upstream, this.config.nodeName, this.log);
    this.nodeReport = this.createNodeReporter();
    this.cloud.onNode(() => {
      void this.reportAutonomy();
      if (!this.nodeReport.written) this.reportNode();
    });
    this.resync = new CacheResync(this.upstream, this.cache, this.log);
    // The condition says at once when caching stops (and when it is trusted again).
    this.storage.onConditionChange(() => {
      void this.reportAutonomy();
      this.reportNode();
    });
    this.diskTimer = setInterval(() => void this.checkDisk(), this.diskRecheckMs);
    this.diskTimer.unref();
    this.health.onChange((healthy) => {
      if (healthy) {
        this.offline.releaseWatches();
        void this.replayJournal();
        void this.reportAutonomy();
        this.reportNode();
      } else {
        this.proxy.endWatches();
        this.proxy.abandonInFlight('the cloud became unreachable');
      }
    });
    this.registerGauges();
    registerOfflineMetrics(this.metrics, this.journal, this.tokens);
    // Listen before probing: until the cloud is known healthy, requests are served from the cache and
    // journal, so an offline start serves kubelet at once instead of after the probes' timeouts.
    this.proxyAddress = addr(await listen(this.proxyServer, this.config.proxyListen, 'proxyListen'));
    if (this.config.secureProxyListen) void this.startSecureProxy(this.config.secureProxyListen);
    await this.health.start();
    this.replayTimer = setInterval(() => {
      if (this.health.isHealthy() && this.journal.size > 0) void this.replayJournal();
      if (this.health.isHealthy()) void this.reportAutonomy();
      if (this.health.isHealthy()) this.reportNode();
    }, this.config.heartbeatIntervalSeconds * 1000);
    // GC at start (once the cloud answers) and then periodically.
    const gcEveryMs = (this.config.gcIntervalSeconds ?? HUB_DEFAULTS.gcIntervalSeconds) * 1000;
    if (this.health.isHealthy()) void this.collectGarbage();
    this.gcTimer = setInterval(() => void this.collectGarbage(), gcEveryMs);
    this.gcTimer.unref();
    this.replayTimer.unref();
    this.log.info('hub.started', {
      proxy: this.proxyAddress,
      admin: this.adminAddress,
      cloudHealthy: this.health.isHealthy(),
    });
  }

  /**
   * After the cache disk refused writes: once it takes a probe write again, caching resumes in the
   * "resyncing" state (Autonomy stays False), watches are ended so their clients re-watch through
   * sinks that cache again, and — once the cloud answers — everything the clients read is read again;
   * only a resync without failures makes the cache trusted (Ready) again.
   */
  private async checkDisk(): Promise<void> {
    if (this.diskChecking || this.closed) return;
    this.diskChecking = true;
    try {
      if (!this.storage.status.writable) {
        if (!(await this.storage.probeWritable())) return;
        this.storage.markResyncing();
        this.log.info('cache.writable_again', { scopes: this.resync.size });
        this.proxy.endWatches();
      }
      if (this.storage.status.reason !== 'CacheResyncing' || !this.health.isHealthy()) return;
      const r = await this.resync.run();
      if (r.failed === 0 && this.storage.status.reason === 'CacheResyncing') this.storage.resetCondition();
    } finally {
      this.diskChecking = false;
    }
  }

  /** Removes cached objects deleted in the cloud; skipped while offline. One run at a time. */
  collectGarbage(): Promise<GcResult | undefined> {
    if (!this.health.isHealthy()) return Promise.resolve(undefined);
    if (this.gcRunning) return this.gcRunning;
    this.gcRunning = collectGarbage(this.storage, this.upstream, this.config.nodeName, this.log)
      .catch((err: Error) => {
        this.log.warn('cache.gc_failed', { error: err.message });
        return undefined;
      })
      .finally(() => {
        this.gcRunning = undefined;
      });
    return this.gcRunning;
  }

  /** Patches the node's `Autonomy` condition when what it should say changed. */
  reportAutonomy(): Promise<boolean> {
    if (this.config.centralConfig === false) return Promise.resolve(false);
    const node = this.cloud.ownNode();
    return this.autonomy.report({
      annotations: node ? (node.metadata?.annotations ?? {}) : undefined,
      cache: this.storage.status,
      certificatesLoaded: this.certsLoaded,
    });
  }

  /** Without a usable certificate the hub cannot start; a renewal that fails while the old one is valid can wait. */
  private async ensureClientCertAtStart(): Promise<void> {
    const due = await rotationDue(this.config.tls.certFile);
    if (due && Date.now() < due.at) return;
    try {
      await ensureClientCert(this.config, this.log);
    } catch (err) {
      if (due && Date.now() < due.notAfter)
        this.log.warn('cert.renew_failed', { error: (err as Error).message });
      else throw err;
    }
  }

  /** Renews the client certificate at 80% of its lifetime and hands it to the upstream at once. */
  private async scheduleRotation(): Promise<void> {
    if (this.closed) return;
    const due = await rotationDue(this.config.tls.certFile);
    const wait = due ? Math.max(0, due.at - Date.now()) : 60_000;
    this.rotateTimer = setTimeout(
      async () => {
        try {
          if ((await ensureClientCert(this.config, this.log)) !== 'present') {
            this.upstream.setCredentials(await this.certs.load());
          }
        } catch (err) {
          this.log.warn('cert.rotate_failed', { error: (err as Error).message, retryInSeconds: 60 });
          this.rotateTimer = setTimeout(() => void this.scheduleRotation(), 60_000);
          this.rotateTimer.unref();
          return;
        }
        void this.scheduleRotation();
      },
      Math.min(wait, 2 ** 31 - 1),
    );
    this.rotateTimer.unref();
  }

  /** The TLS listener pods' in-cluster config reaches (master service); requests keep their own identity. */
  private async startSecureProxy(listenAt: string): Promise<void> {
    const m = /^\[?([0-9a-fA-F:.]*)\]?:(\d+)$/.exec(listenAt);
    const host = m?.[1] || '0.0.0.0';
    const port = Number(m?.[2] ?? 10268);
    const ips = new Set(['127.0.0.1', this.config.masterService?.host ?? HUB_DEFAULTS.masterService.host]);
    if (host !== '0.0.0.0' && host !== '::') ips.add(host);
    try {
      const tls = await ensureServingCert(this.config, [...ips], this.log);
      if (this.closed) return;
      const server = https.createServer(
        { cert: tls.cert, key: tls.key },
        (req, res) => void this.handle(req, res, true),
      );
      server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head, true));
      server.requestTimeout = 0;
      this.secureServer = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      this.secureProxyAddress = addr(server.address() as AddressInfo);
      this.log.info('hub.secure_proxy_started', { address: this.secureProxyAddress });
      const target = this.masterServiceServed();
      if (target) {
        // Watches opened before this went unfiltered: end them so kubelet re-lists `default/kubernetes`
        // pointing here, and pods it starts from now on reach the API through the hub.
        this.proxy?.endWatches();
        this.log.info('hub.master_service_on', { target: `${target.host}:${target.port}` });
      }
    } catch (err) {
      if (this.secureServer?.listening) this.secureServer.close();
      this.secureServer = undefined;
      if (this.closed) return;
      // The certificate may be approved later (the controller deployed after the node) and the
      // master-service address may appear later: try again, backing off to once an hour.
      const retryMs = this.secureProxyRetryMs;
      this.secureProxyRetryMs = Math.min(retryMs * 2, 3_600_000);
      this.log.error('hub.secure_proxy_failed', {
        listen: listenAt,
        error: (err as Error).message,
        retryInSeconds: retryMs / 1000,
        fix: 'approve the serving CSR (kubectl get csr; the EdgeFleet controller does it for nodes) and check the listen address exists on this node',
      });
      this.secureProxyRetry = setTimeout(() => void this.startSecureProxy(listenAt), retryMs);
      this.secureProxyRetry.unref();
    }
  }

  /**
   * Where kubelet is told `default/kubernetes` is (the master service filter), or undefined while the
   * secure proxy does not serve that address and port: pointing pods at an address nothing listens on
   * would break every in-cluster client on the node, online or not.
   */
  private masterServiceServed(): { host: string; port: number } | undefined {
    if (!this.secureServer?.listening) return undefined;
    const bound = this.secureServer.address() as AddressInfo;
    const target = this.config.masterService ?? HUB_DEFAULTS.masterService;
    const wildcard = bound.address === '0.0.0.0' || bound.address === '::';
    return bound.port === target.port && (wildcard || bound.address === target.host) ? target : undefined;
  }

  private createNodeReporter(): NodeReporter {
    const sources = hubReportSources({
      agentVersion: process.env.EDGEFLEET_VERSION ?? 'dev',
      quotaBytes: this.config.cacheQuotaBytes,
      journalBound: this.config.journalMaxEntries,
      storage: this.storage,
      journal: this.journal,
      health: this.health,
      certs: this.certs,
      ownNodeAnnotations: () => this.cloud.ownNode()?.metadata?.annotations,
      tunnel: this.config.tunnelAgent ?? HUB_DEFAULTS.tunnelAgent,
    });
    const opts =
      this.nodeReportMinIntervalMs === undefined ? {} : { minIntervalMs: this.nodeReportMinIntervalMs };
    return new NodeReporter(this.upstream, this.config.nodeName, sources, this.log, opts);
  }

  /**
   * One node report tick. The first waits for the hub's view of its Node (when it watches it), so
   * a restart that changed nothing adopts the report already there instead of writing it again.
   */
  private reportNode(): void {
    if (this.closed || !this.nodeReport) return;
    if (!this.nodeReport.written && this.config.centralConfig !== false && !this.cloud.ownNode()) return;
    void this.nodeReport.tick();
  }

  /** The settings in force (config file + central ConfigMaps). */
  get settings(): EffectiveSettings {
    return this.central.current;
  }

  private async applySettings(s: EffectiveSettings): Promise<void> {
    this.cache.setExtraAgents(s.cacheAgents);
    if (s.cacheSecrets !== this.cache.cachesSecrets)
      await this.cache
        .setCacheSecrets(s.cacheSecrets)
        .catch((err: Error) => this.log.warn('cache.secrets_purge_failed', { error: err.message }));
    // Service-account tokens are credentials too: the same policy keeps them off the disk.
    if (!s.cacheSecrets)
      await this.tokens
        .purge()
        .catch((err: Error) => this.log.warn('token_cache.purge_failed', { error: err.message }));
  }

  isCloudHealthy(): boolean {
    return this.health.isHealthy();
  }

  /** Runs one heartbeat now (tests). */
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
    const r = this.metrics.registry;
    const m = HUB_METRICS;
    r.collect(m.cloudHealthy, () => (this.health.isHealthy() ? 1 : 0));
    r.collect(m.offlineSeconds, () => this.health.offlineSeconds());
    r.collect(m.leaseRenewals, () => this.health.renewals);
    r.collect(m.leaseFailures, () => this.health.failures);
    r.collect(m.linkChecks, () => this.linkCheck.checks);
    r.collect(m.uplinkReceived, () => this.upstream.bytesIn);
    r.collect(m.uplinkSent, () => this.upstream.bytesOut);
    r.collect(m.upstreamWatches, () => this.proxy.upstreamWatches);
    r.collect(m.sharedWatchJoins, () => this.proxy.sharedJoins);
    r.collect(m.cacheHits, () => this.cache.hits);
    r.collect(m.cacheMisses, () => this.cache.misses);
    r.collect(m.cacheQuarantined, () => this.storage.quarantined);
    r.collect(m.cacheNotCached, () => this.cache.responsesNotCached);
    r.collect(m.cacheWritable, () => (this.storage.status.writable ? 1 : 0));
    r.collect(m.cacheBytes, () => this.storage.bytes());
    r.collect(m.diskFree, () => this.storage.diskFreeBytes());
    r.collect(m.diskSize, () => this.storage.diskSizeBytes());
    r.collect(m.journalEntries, () => this.journal.size);
    r.collect(m.journalCapacity, () => this.config.journalMaxEntries);
    r.collect(m.journalDropped, () => this.journal.dropped);
    r.collect(m.masterServiceServed, () => (this.masterServiceServed() ? 1 : 0));
    r.collect(m.clientCertExpiry, () => this.certs.notAfter / 1000);
    r.collect(m.nodeReportWrites, () => this.nodeReport.writes);
    r.collect(m.nodeReportBytes, () => this.nodeReport.bytes);
    r.collect(m.nodeReportFailures, () => this.nodeReport.failures);
  }

  /** Where the hub keeps its own copy of the node Lease (hub state, not a client's cache). */
  private leaseKey(): ObjectKey {
    return {
      component: '_hub',
      resource: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' },
      namespace: 'kube-node-lease',
      name: this.config.nodeName,
    };
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

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, secure = false): Promise<void> {
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
    if (cacheable && ['get', 'list', 'watch'].includes(info.verb) && this.cache.isCacheableRequest(info))
      this.resync.record(component, req.url ?? '/');
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
      if (isTokenRequest(info) && cacheable && !secure && req.headers.authorization === undefined) {
        const tokenBody = await readBody(req, MAX_JOURNALED_BODY);
        const contentType = String(req.headers['content-type'] ?? 'application/json');
        servedBy = await this.tokens.serve(
          res,
          info,
          { body: tokenBody, contentType },
          this.health.isHealthy(),
        );
        return;
      }
      let body: Buffer | undefined;
      if (offlineNeedsBody(info)) body = await readBody(req, MAX_JOURNALED_BODY);
      const offline = async (why: string): Promise<void> => {
        servedBy = 'cache';
        if (['get', 'list', 'watch'].includes(info.verb))
          await this.offline.read(res, info, component, cacheable, why);
        else if (info.isResource) {
          await this.offline.write(res, info, component, {
            body: body ?? Buffer.alloc(0),
            contentType: String(req.headers['content-type'] ?? 'application/json'),
            contentEncoding: req.headers['content-encoding'],
            accept: req.headers.accept,
          });
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
      const filters = this.filters.forRequest(component, info);
      let makeTransform: ((emit: (c: Buffer) => void) => ReturnType<typeof createTransform>) | undefined;
      if (filters.length > 0) {
        // First filtered request: wait (bounded) for the Service/NodePool views, or it would pass unfiltered.
        await this.cloud.forFilters(5_000);
        makeTransform = (emit) => createTransform(filters, info, emit, (fn) => this.filters.onRefilter(fn));
      }
      const fwd = { req, res, info, component, cacheable, body, makeTransform, ownCredentials: secure };
      this.proxy.forward(fwd, (why) => {
        // A failed request is evidence of a cut: flip to offline now (requests still waiting on the
        // cloud are answered from the cache too) and let the health checker probe its way back.
        this.health.markUnreachable(why);
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
    if (lease) {
      sendJson(res, 200, lease);
      return;
    }
    // Not known yet (hub just started, cloud not reached): the only copy is kubelet's own, which it
    // sends as protobuf. Echo its bytes in its own encoding — client-go decodes by Content-Type — so
    // the renewal succeeds offline and online alike; its stale resourceVersion never reaches the
    // cloud, as kubelet's renewals are answered here once the hub holds the Lease.
    const headers: http.OutgoingHttpHeaders = {
      'content-type': String(req.headers['content-type'] ?? 'application/json'),
      'content-length': body.length,
    };
    if (req.headers['content-encoding']) headers['content-encoding'] = req.headers['content-encoding'];
    res.writeHead(200, headers);
    res.end(body);
  }

  private observe(
    info: RequestInfo,
    component: string,
    code: number,
    servedBy: string,
    started: number,
  ): void {
    const resource = info.isResource ? info.resource.resource : 'nonresource';
    this.metrics.request(
      component,
      info.verb,
      resource,
      code,
      servedBy,
      (performance.now() - started) / 1000,
    );
  }

  private upgrade(
    req: http.IncomingMessage,
    socket: import('node:stream').Duplex,
    head: Buffer,
    secure = false,
  ): void {
    if (!this.health.isHealthy()) {
      refuseUpgrade(socket, 'the cloud is unreachable; exec/attach/port-forward need the API server');
      return;
    }
    this.proxy.tunnel(
      req,
      socket,
      head,
      (why) => refuseUpgrade(socket, `the cloud is unreachable: ${why}`),
      secure,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.rotateTimer) clearTimeout(this.rotateTimer);
    if (this.secureProxyRetry) clearTimeout(this.secureProxyRetry);
    if (this.gcTimer) clearInterval(this.gcTimer);
    if (this.diskTimer) clearInterval(this.diskTimer);
    this.health?.stop();
    this.central?.stop();
    this.cloud?.stop();
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
    const servers = [this.proxyServer, this.adminServer, ...(this.secureServer ? [this.secureServer] : [])];
    await Promise.all(servers.map(closeServer));
    this.upstream?.close();
    // Responses already received finish landing on disk, so a clean stop leaves no half-applied stream;
    // a hung disk gets a bounded wait (systemd would otherwise kill the hub at its stop timeout).
    if (!(await this.cache.idle(CLOSE_CACHE_WAIT_MS)))
      this.log.warn('hub.close_cache_writes_abandoned', {
        pending: this.cache.pendingWrites,
        waitedMs: CLOSE_CACHE_WAIT_MS,
        note: 'the disk took no write in time; unfinished writes leave the previous cache files in place',
      });
  }
}

/** How long a stopping hub waits for cache writes in flight (below systemd's default 90 s stop timeout). */
const CLOSE_CACHE_WAIT_MS = 10_000;

function addr(a: AddressInfo): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
