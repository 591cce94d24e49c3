/**
 * The provisioning part of the IPC surface: the host list, host-key trust, and runs (preflight,
 * convert, join, revert, upgrade) over a batch of hosts. Runs answer at once; progress and log
 * lines go out as batched events, and the finished run (per-host summary) as `provision:run`.
 */
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { EventSink } from '../ipc/contract.ts';
import { AppError } from '../ipc/errors.ts';
import type { IpcHandlers } from '../ipc/router.ts';
import type {
  ProvisionLogLine,
  ProvisionOperation,
  ProvisionProgress,
  ProvisionRunInfo,
} from '../ipc/types.ts';
import type { SecretKind } from '../vault/refs.ts';
import type { Vault } from '../vault/vault.ts';
import { type BatchHost, runBatch } from './batch.ts';
import { type ClusterAccess, kubeConfigClusterAccess } from './cluster-access.ts';
import { convertPlan } from './convert.ts';
import { HostRegistry } from './host-registry.ts';
import { joinPlan } from './join.ts';
import { revertPlan } from './revert.ts';
import { hostId, KnownHosts } from './ssh-known-hosts.ts';
import { HostKeyUnknownError, SshSession } from './ssh-session.ts';
import { openSshThroughTunnel, tunnelSockFor } from './tunnel-access.ts';
import type { Plan } from './types.ts';
import { upgradePlan } from './upgrade.ts';

type ProvisionHandlers = Pick<
  IpcHandlers,
  | 'vault:storeSecret'
  | 'hosts:list'
  | 'hosts:add'
  | 'hosts:remove'
  | 'tunnels:list'
  | 'tunnels:set'
  | 'tunnels:remove'
  | 'hosts:checkHostKey'
  | 'hosts:acceptHostKey'
  | 'provision:runs'
  | 'provision:preflight'
  | 'provision:convert'
  | 'provision:join'
  | 'provision:revert'
  | 'provision:upgrade'
  | 'provision:cancel'
>;

export interface ProvisionServiceOptions {
  vault: Vault;
  emit: EventSink;
  /** hosts.json, known-hosts.json, runs/ (state + logs) and cache/ (compressed artifacts) go here. */
  dataDir: string;
  /** The app's resources/ (agent bundle, Node runtimes, systemd units). */
  resourcesDir: string;
  /** Resolved connection settings for a cluster id (the clusters' sources, secrets from the vault). */
  kubeConfigFor: (clusterId: string) => Promise<KubeConfig>;
  log: (line: string) => void;
  /** How long progress and log lines are gathered before one event carries them (default 200 ms). */
  batchWindowMs?: number;
  /** Log lines per run per batch before the rest is counted as omitted (default 400). */
  maxLogLinesPerBatch?: number;
}

/** Gathers progress (coalesced per host+step) and log lines (capped) per run; flushes on a timer. */
export class EventBatcher {
  private readonly progress = new Map<string, Map<string, ProvisionProgress>>();
  private readonly logs = new Map<string, { lines: ProvisionLogLine[]; omitted: number }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly emit: EventSink;
  private readonly windowMs: number;
  private readonly maxLines: number;

  constructor(emit: EventSink, windowMs: number, maxLines: number) {
    this.emit = emit;
    this.windowMs = windowMs;
    this.maxLines = maxLines;
  }

  addProgress(p: ProvisionProgress): void {
    const m = this.progress.get(p.runId) ?? new Map<string, ProvisionProgress>();
    this.progress.set(p.runId, m);
    m.set(`${p.host}\u0000${p.step}`, p);
    this.schedule();
  }

  addLog(l: ProvisionLogLine): void {
    const b = this.logs.get(l.runId) ?? { lines: [], omitted: 0 };
    this.logs.set(l.runId, b);
    if (b.lines.length < this.maxLines) b.lines.push(l);
    else b.omitted++;
    this.schedule();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => this.flush(), this.windowMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [runId, m] of this.progress)
      this.emit('provision:progress', { runId, items: [...m.values()] });
    for (const [runId, b] of this.logs)
      this.emit('provision:log', { runId, lines: b.lines, ...(b.omitted ? { omitted: b.omitted } : {}) });
    this.progress.clear();
    this.logs.clear();
  }
}

interface Run {
  info: ProvisionRunInfo;
  abort: AbortController;
}

export class ProvisionService {
  readonly hosts: HostRegistry;
  readonly knownHosts: KnownHosts;
  private readonly opts: ProvisionServiceOptions;
  private readonly batcher: EventBatcher;
  private readonly runs = new Map<string, Run>();
  /** Host keys last presented and not yet trusted, by `host:port`: the only keys the user can accept. */
  private readonly pendingKeys = new Map<string, { keyType: string; fingerprint: string }>();

  constructor(opts: ProvisionServiceOptions) {
    this.opts = opts;
    this.hosts = new HostRegistry(join(opts.dataDir, 'hosts.json'));
    this.knownHosts = new KnownHosts(join(opts.dataDir, 'known-hosts.json'));
    this.batcher = new EventBatcher(opts.emit, opts.batchWindowMs ?? 200, opts.maxLogLinesPerBatch ?? 400);
  }

  private get stateDir(): string {
    return join(this.opts.dataDir, 'runs');
  }

  private get cacheDir(): string {
    return join(this.opts.dataDir, 'cache');
  }

  /**
   * One SSH session to a registered host, reached as provisioning reaches it (jump hosts, or the
   * site's tunnel access door for NAT-only hosts), host key verified. The caller closes it.
   */
  async openSession(id: string): Promise<SshSession> {
    const { target, tunnel } = await this.batchHost(id);
    const sock = tunnel ? await openSshThroughTunnel(tunnel, this.opts.vault) : undefined;
    return SshSession.connect(target, {
      vault: this.opts.vault,
      knownHosts: this.knownHosts,
      readyTimeoutMs: 15_000,
      ...(sock ? { sock } : {}),
    });
  }

  async checkHostKey(id: string) {
    try {
      const s = await this.openSession(id);
      s.close();
      return { status: 'trusted' as const, host: s.target.host, port: s.target.port ?? 22 };
    } catch (e) {
      if (!(e instanceof HostKeyUnknownError)) throw e;
      this.pendingKeys.set(hostId(e.host, e.port), { keyType: e.keyType, fingerprint: e.fingerprint });
      return {
        status: 'unknown' as const,
        host: e.host,
        port: e.port,
        keyType: e.keyType,
        fingerprint: e.fingerprint,
      };
    }
  }

  async acceptHostKey(k: {
    host: string;
    port: number;
    keyType: string;
    fingerprint: string;
  }): Promise<null> {
    const pending = this.pendingKeys.get(hostId(k.host, k.port));
    if (!pending || pending.fingerprint !== k.fingerprint || pending.keyType !== k.keyType)
      throw new AppError(
        'ssh/host-key-not-presented',
        `${k.host}:${k.port} did not present the key ${k.fingerprint} to EdgeFleet`,
        'Check the host key again and accept the fingerprint it shows.',
      );
    await this.knownHosts.trust(k.host, k.port, k.keyType, k.fingerprint);
    this.pendingKeys.delete(hostId(k.host, k.port));
    this.opts.log(`host key of ${k.host}:${k.port} accepted: ${k.keyType} ${k.fingerprint}`);
    return null;
  }

  private async clusterAccess(clusterId: string): Promise<ClusterAccess> {
    return kubeConfigClusterAccess(await this.opts.kubeConfigFor(clusterId));
  }

  /** The SSH target of a host, and the tunnel route when its first hop is a via-tunnel host. */
  private async batchHost(id: string): Promise<BatchHost> {
    const target = await this.hosts.target(id);
    const first = await this.hosts.firstHop(id);
    if (!first.tunnel) return { name: id, target };
    // The tunnel agent registers under the node name, which is the host's name in its site.
    return {
      name: id,
      target,
      tunnel: { profile: first.tunnel, node: first.host.name, port: first.host.port },
    };
  }

  private async batchHosts(ids: string[]): Promise<BatchHost[]> {
    if (!ids.length) throw new AppError('provision/no-hosts', 'Pick at least one host');
    const out: BatchHost[] = [];
    for (const id of new Set(ids)) out.push(await this.batchHost(id));
    return out;
  }

  private async start<F>(
    operation: ProvisionOperation,
    input: { hostIds: string[]; runId?: string; concurrency?: number },
    plan: (h: BatchHost) => Promise<Plan<F>> | Plan<F>,
    cleanup?: () => void,
  ): Promise<ProvisionRunInfo> {
    const hosts = await this.batchHosts(input.hostIds);
    const runId =
      input.runId ??
      `${operation}-${new Date().toISOString().replace(/[:.]/g, '-')}-${Math.random().toString(16).slice(2, 8)}`;
    if (this.runs.get(runId)?.info.state === 'running')
      throw new AppError('provision/run-active', `Run ${runId} is still running`);
    const abort = new AbortController();
    const info: ProvisionRunInfo = {
      runId,
      operation,
      hosts: hosts.map((h) => h.name),
      startedAt: new Date().toISOString(),
      state: 'running',
    };
    this.runs.set(runId, { info, abort });
    this.opts.emit('provision:run', info);
    this.opts.log(`provision ${operation} ${runId} started on ${info.hosts.join(', ')}`);
    void runBatch(hosts, {
      plan,
      runId,
      vault: this.opts.vault,
      knownHosts: this.knownHosts,
      stateDir: this.stateDir,
      sockFor: tunnelSockFor(this.opts.vault),
      concurrency: input.concurrency ?? 5,
      signal: abort.signal,
      onProgress: (p) => this.batcher.addProgress(p),
      onLog: (l) => this.batcher.addLog({ ...l, line: this.opts.vault.redact(l.line) }),
    })
      .then((s) => {
        for (const h of s.hosts)
          if (h.hostKey)
            this.pendingKeys.set(hostId(h.hostKey.host, h.hostKey.port), {
              keyType: h.hostKey.keyType,
              fingerprint: h.hostKey.fingerprint,
            });
        info.summary = {
          durationMs: s.durationMs,
          bytesSent: s.bytesSent,
          counts: s.counts,
          hosts: s.hosts.map((h) =>
            h.error ? { ...h, error: { ...h.error, message: this.opts.vault.redact(h.error.message) } } : h,
          ),
        };
        info.state = abort.signal.aborted ? 'cancelled' : 'finished';
        this.opts.log(
          `provision ${operation} ${runId} ${info.state}: ${s.counts.done} done, ${s.counts.failed} failed, ${s.counts.refused} refused, ${s.counts.interrupted} interrupted`,
        );
      })
      .catch((e: unknown) => {
        info.state = 'finished';
        this.opts.log(`provision ${operation} ${runId} could not run: ${(e as Error).message}`);
      })
      .finally(() => {
        cleanup?.();
        this.batcher.flush();
        this.opts.emit('provision:run', info);
      });
    return info;
  }

  cancel(runId: string): null {
    const run = this.runs.get(runId);
    if (!run) throw new AppError('provision/no-run', `No run ${runId}`);
    run.abort.abort();
    return null;
  }

  handlers(): ProvisionHandlers {
    const common = () => ({ resourcesDir: this.opts.resourcesDir, cacheDir: this.cacheDir });
    return {
      'vault:storeSecret': async ({ kind, id, value }) => ({
        ref: await this.opts.vault.put(kind as SecretKind, id, value),
      }),
      'hosts:list': () => this.hosts.list(),
      'hosts:add': (h) =>
        this.hosts.add({
          site: h.site,
          name: h.name,
          address: h.address,
          port: h.port ?? 22,
          user: h.user,
          auth: h.auth,
          ...(h.jumpHostId ? { jumpHostId: h.jumpHostId } : {}),
          ...(h.viaTunnel ? { viaTunnel: true } : {}),
        }),
      'hosts:remove': ({ hostId: id }) => this.hosts.remove(id),
      'tunnels:list': () => this.hosts.tunnels(),
      'tunnels:set': (t) =>
        this.hosts.setTunnel({
          site: t.site,
          door: t.door,
          caPem: t.caPem,
          certPem: t.certPem,
          keyRef: t.keyRef,
          ...(t.serverName ? { serverName: t.serverName } : {}),
        }),
      'tunnels:remove': ({ site }) => this.hosts.removeTunnel(site),
      'hosts:checkHostKey': ({ hostId: id }) => this.checkHostKey(id),
      'hosts:acceptHostKey': (k) => this.acceptHostKey(k),
      'provision:runs': () => [...this.runs.values()].map((r) => r.info),
      'provision:preflight': async (i) => {
        const cluster = await this.clusterAccess(i.clusterId);
        return this.start(
          'preflight',
          i,
          async () => {
            const p = await convertPlan({ cluster, ...common() });
            return { name: 'preflight', steps: p.steps.slice(0, 1), initialFacts: {} };
          },
          () => cluster.close(),
        );
      },
      'provision:convert': async (i) => {
        const cluster = await this.clusterAccess(i.clusterId);
        return this.start(
          'convert',
          i,
          () =>
            convertPlan({
              cluster,
              ...common(),
              ...(i.pool ? { pool: i.pool } : {}),
              ...(i.autonomyDuration ? { autonomyDuration: i.autonomyDuration } : {}),
            }),
          () => cluster.close(),
        );
      },
      'provision:join': async (i) => {
        const cluster = await this.clusterAccess(i.clusterId);
        return this.start(
          'join',
          i,
          () =>
            joinPlan({
              cluster,
              vault: this.opts.vault,
              bootstrapTokenRef: i.bootstrapTokenRef,
              ...common(),
              ...(i.pool ? { pool: i.pool } : {}),
              ...(i.autonomyDuration ? { autonomyDuration: i.autonomyDuration } : {}),
            }),
          () => cluster.close(),
        );
      },
      'provision:revert': async (i) => {
        const cluster = await this.clusterAccess(i.clusterId);
        return this.start(
          'revert',
          i,
          () => revertPlan({ cluster }),
          () => cluster.close(),
        );
      },
      'provision:upgrade': (i) => this.start('upgrade', i, () => upgradePlan(common())),
      'provision:cancel': ({ runId }) => this.cancel(runId),
    };
  }

  async close(): Promise<void> {
    for (const r of this.runs.values()) r.abort.abort();
    this.batcher.flush();
  }
}
