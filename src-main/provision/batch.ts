/**
 * Runs one plan over many hosts with a concurrency limit. Each host gets its own SSH connection,
 * state file and log; one host failing (or being refused) never stops the others, and the summary
 * says what happened to each.
 */
import { randomBytes } from 'node:crypto';
import type { ProvisionLogLine, ProvisionProgress } from '../ipc/types.ts';
import type { Vault } from '../vault/vault.ts';
import { SshRemote } from './remote.ts';
import { type Connection, runPlan, toIpcError } from './runner.ts';
import type { KnownHosts } from './ssh-known-hosts.ts';
import { SshSession, type SshTarget } from './ssh-session.ts';
import type { TunnelRoute } from './tunnel-access.ts';
import type { HostRunResult, Plan } from './types.ts';

export interface BatchHost {
  /** What the user calls this host (unique within the batch). */
  name: string;
  target: SshTarget;
  /** The first hop of `target` (the host, or its outermost jump host) is reached through this tunnel. */
  tunnel?: TunnelRoute;
}

export interface BatchOptions<F> {
  plan: (host: BatchHost) => Plan<F> | Promise<Plan<F>>;
  vault: Pick<Vault, 'get'>;
  knownHosts: KnownHosts;
  stateDir: string;
  /** Reuse a run id to resume an interrupted batch. */
  runId?: string;
  concurrency?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  readyTimeoutMs?: number;
  maxReconnects?: number;
  reconnectDelayMs?: number;
  onProgress?: (p: ProvisionProgress) => void;
  onLog?: (l: ProvisionLogLine) => void;
  /**
   * Opens the stream to the first hop's sshd another way (the EdgeFleet tunnel for NATed sites:
   * `tunnelSockFor` in tunnel-access.ts); undefined means a direct TCP connection.
   */
  sockFor?: (host: BatchHost) => Promise<import('node:stream').Readable | undefined>;
  signal?: AbortSignal;
}

export interface BatchSummary {
  runId: string;
  durationMs: number;
  bytesSent: number;
  hosts: HostRunResult[];
  counts: Record<HostRunResult['status'], number>;
}

export function sshConnector(
  host: BatchHost,
  opts: Pick<
    BatchOptions<unknown>,
    'vault' | 'knownHosts' | 'keepaliveIntervalMs' | 'keepaliveCountMax' | 'readyTimeoutMs' | 'sockFor'
  >,
) {
  return async (log: (line: string, stream: 'stdout' | 'stderr') => void): Promise<Connection> => {
    const sock = opts.sockFor ? await opts.sockFor(host) : undefined;
    const session = await SshSession.connect(host.target, {
      vault: opts.vault,
      knownHosts: opts.knownHosts,
      keepaliveIntervalMs: opts.keepaliveIntervalMs ?? 5_000,
      keepaliveCountMax: opts.keepaliveCountMax ?? 3,
      readyTimeoutMs: opts.readyTimeoutMs ?? 15_000,
      ...(sock ? { sock } : {}),
    });
    return { remote: new SshRemote(session, { onOutput: log }), close: () => session.close() };
  };
}

export async function runBatch<F>(hosts: BatchHost[], opts: BatchOptions<F>): Promise<BatchSummary> {
  const started = Date.now();
  const runId =
    opts.runId ?? `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
  const names = new Set<string>();
  for (const h of hosts) {
    if (names.has(h.name)) throw new Error(`host "${h.name}" is listed twice in the batch`);
    names.add(h.name);
  }
  const results: HostRunResult[] = new Array(hosts.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= hosts.length) return;
      const host = hosts[i] as BatchHost;
      const t0 = Date.now();
      try {
        results[i] = await runPlan(host.name, await opts.plan(host), {
          runId,
          stateDir: opts.stateDir,
          connect: sshConnector(host, opts as BatchOptions<unknown>),
          ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
          ...(opts.onLog ? { onLog: opts.onLog } : {}),
          ...(opts.maxReconnects !== undefined ? { maxReconnects: opts.maxReconnects } : {}),
          ...(opts.reconnectDelayMs !== undefined ? { reconnectDelayMs: opts.reconnectDelayMs } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
      } catch (e) {
        // A run that could not even start (state file unreadable, plan construction): still one summary line.
        results[i] = {
          host: host.name,
          plan: 'unknown',
          status: 'failed',
          applied: [],
          skipped: [],
          rolledBack: [],
          error: toIpcError(e),
          bytesSent: 0,
          durationMs: Date.now() - t0,
          logFile: '',
        };
      }
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency ?? 5, hosts.length));
  await Promise.all(Array.from({ length: n }, worker));
  const counts = { done: 0, failed: 0, refused: 0, interrupted: 0 };
  for (const r of results) counts[r.status]++;
  return {
    runId,
    durationMs: Date.now() - started,
    bytesSent: results.reduce((a, r) => a + r.bytesSent, 0),
    hosts: results,
    counts,
  };
}

/** One line per host for logs and the CLI. */
export function formatSummary(s: BatchSummary): string {
  const lines = s.hosts.map((h) => {
    const what =
      h.status === 'done'
        ? `done (${h.applied.length} applied, ${h.skipped.length} already done)`
        : `${h.status} at ${h.failedStep ?? '?'}: ${h.error?.message ?? ''}${h.rolledBack.length ? ` — rolled back ${h.rolledBack.join(', ')}` : ''}`;
    return `${h.host}: ${what} [${(h.durationMs / 1000).toFixed(1)} s, ${(h.bytesSent / 2 ** 20).toFixed(1)} MiB sent]`;
  });
  return [
    `run ${s.runId}: ${s.counts.done} done, ${s.counts.failed} failed, ${s.counts.refused} refused, ${s.counts.interrupted} interrupted in ${(s.durationMs / 1000).toFixed(1)} s`,
    ...lines,
  ].join('\n');
}
