/**
 * `npm run bench -- controller [--nodes N] [--pools P] [--changes C]` (root: starts a lab control plane).
 *
 * 5,000 nodes in 200 NodePools against a real kube-apiserver/etcd/kube-controller-manager, the
 * controller running as its own process exactly as shipped. Figures:
 *  - controller start → every pool's status (nodes, readyNodeNum, unreadyNodeNum) correct, and →
 *    every node carrying its pool's spec label;
 *  - a node's pool label changed → both pools' statuses updated (p50/p99 over C changes), seen
 *    through a watch, so polling does not blur the figure;
 *  - controller RSS and CPU at steady state (no changes), from /proc.
 *
 * Nodes are NOT managed by kwok: 5,000 kwok heartbeats (a Lease renewal per node every 5 s) would
 * measure kwok and etcd on this 2-core machine, not the controller. The controller only reads the
 * Ready condition, so each node is created with its status (90 % Ready, 10 % NotReady) and nothing
 * changes it: kube-controller-manager runs without its node-lifecycle controller (no heartbeats to
 * judge, it would turn every node Unknown) and node-ipam (5,000 nodes exceed the lab pod range).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient, kubeconfigConnection, RESOURCES } from '../src-agent/api/kube-client.ts';
import { LABEL_NODEPOOL } from '../src-agent/api/labels.ts';
import { NODEPOOL_RESOURCE, type NodePool } from '../src-agent/api/nodepool.ts';
import { Informer } from '../src-agent/controller/informer.ts';
import { Cluster } from '../test/lab/cluster.ts';
import { freePort } from '../test/lab/proc.ts';

const REPO = resolve(import.meta.dirname, '..');
/** Requests in flight while creating objects: enough to fill the API server, bounded. */
const CONCURRENCY = 24;
const CREATE_BATCH = 500;
const START_TIMEOUT_MS = 10 * 60_000;
const CHANGE_TIMEOUT_MS = 30_000;
const STEADY_WINDOW_MS = 20_000;
const POOL_SPEC_LABEL = 'bench.edgefleet.io/pool';

interface Options {
  nodes: number;
  pools: number;
  changes: number;
}

function parseArgs(args: string[]): Options {
  const o: Options = { nodes: 5000, pools: 200, changes: 50 };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = (args[i] as string).split('=', 2) as [string, string | undefined];
    const key = flag.replace(/^--/, '') as keyof Options;
    if (!(key in o)) throw new Error(`bench controller: unknown flag ${flag} (--nodes, --pools, --changes)`);
    const v = Number(inline ?? args[++i]);
    if (!Number.isInteger(v) || v < 1) throw new Error(`bench controller: ${flag} needs a positive integer`);
    o[key] = v;
  }
  if (o.pools < 2)
    throw new Error('bench controller: --pools must be at least 2 (changes move nodes between pools)');
  return o;
}

/** Runs fn over items with at most `limit` in flight. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

const poolName = (i: number) => `pool-${String(i).padStart(3, '0')}`;
const nodeName = (i: number) => `bench-node-${String(i).padStart(5, '0')}`;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** utime+stime (clock ticks) and RSS (bytes) of a process from /proc. */
async function procSample(pid: number): Promise<{ ticks: number; rss: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 'NaN');
  return { ticks, rss: rssKb * 1024 };
}
const CLOCK_TICKS = 100;

export async function run(args: string[]): Promise<void> {
  const opts = parseArgs(args);
  const dir = await mkdtemp(join(tmpdir(), 'ef-bench-controller-'));
  const log = (m: string) => console.log(`[bench controller] ${m}`);
  let cluster: Cluster | undefined;
  let client: KubeClient | undefined;
  const stopWatch = new AbortController();
  try {
    cluster = await Cluster.start({
      dir,
      bindAddress: '127.0.0.1',
      // Appended to the lab's --controllers list: "-name" disables node-lifecycle and node-ipam (see above).
      extraControllerManagerArgs: ['--controllers=*,-node-lifecycle-controller,-node-ipam-controller'],
      extraApiserverArgs: ['--max-requests-inflight=800', '--max-mutating-requests-inflight=400'],
      log: (l) => log(l),
    });
    await cluster.kubectl(['apply', '-f', join(REPO, 'resources/crds')]);
    await cluster.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/nodepools.apps.openyurt.io',
    ]);
    client = new KubeClient(kubeconfigConnection(cluster.kubeconfigPath), 'edgefleet-bench');
    const api = client;

    // Pools, then nodes (pool i gets nodes i, i+P, i+2P, …), created in bounded batches.
    const t0 = performance.now();
    const pools = Array.from({ length: opts.pools }, (_, i) => poolName(i));
    await eachLimited(pools, CONCURRENCY, async (name) => {
      await api.create(NODEPOOL_RESOURCE, {
        apiVersion: 'apps.openyurt.io/v1beta2',
        kind: 'NodePool',
        metadata: { name },
        spec: { type: 'Edge', labels: { [POOL_SPEC_LABEL]: name } },
      } as NodePool);
    });
    const poolOf = new Map<string, string>();
    const ready = new Map<string, boolean>();
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    for (let start = 0; start < opts.nodes; start += CREATE_BATCH) {
      const batch = Array.from({ length: Math.min(CREATE_BATCH, opts.nodes - start) }, (_, k) => start + k);
      await eachLimited(batch, CONCURRENCY, async (i) => {
        const name = nodeName(i);
        const pool = poolName(i % opts.pools);
        const isReady = i % 10 !== 9;
        poolOf.set(name, pool);
        ready.set(name, isReady);
        await api.create(RESOURCES.nodes, {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name, labels: { 'kubernetes.io/hostname': name, [LABEL_NODEPOOL]: pool } },
          spec: { taints: [{ key: 'bench.edgefleet.io/fake', value: 'true', effect: 'NoSchedule' }] },
          status: {
            conditions: [
              {
                type: 'Ready',
                status: isReady ? 'True' : 'False',
                reason: isReady ? 'BenchReady' : 'BenchNotReady',
                message: 'set once by bench/controller.ts',
                lastHeartbeatTime: now,
                lastTransitionTime: now,
              },
            ],
          },
        } as never);
      });
      log(`created ${start + batch.length}/${opts.nodes} nodes`);
    }
    log(
      `created ${opts.pools} pools and ${opts.nodes} nodes in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );

    // What every pool's status must say.
    const expected = (): Map<string, { nodes: string; ready: number; unready: number }> => {
      const m = new Map(pools.map((p) => [p, { nodes: [] as string[], ready: 0, unready: 0 }]));
      for (const [n, p] of poolOf) {
        const e = m.get(p) as { nodes: string[]; ready: number; unready: number };
        e.nodes.push(n);
        if (ready.get(n)) e.ready++;
        else e.unready++;
      }
      return new Map(
        [...m].map(([p, e]) => [p, { nodes: e.nodes.sort().join(','), ready: e.ready, unready: e.unready }]),
      );
    };
    const poolCorrect = (p: NodePool | undefined, want: { nodes: string; ready: number; unready: number }) =>
      !!p &&
      (p.status?.nodes ?? []).join(',') === want.nodes &&
      p.status?.readyNodeNum === want.ready &&
      p.status?.unreadyNodeNum === want.unready;

    // A watch on pools (our informer) tells the moment statuses change.
    const poolCache = new Informer<NodePool>(api, NODEPOOL_RESOURCE, {
      onError: (e) => log(`pool watch: ${e}`),
    });
    let wake: (() => void) | undefined;
    poolCache.on(() => wake?.());
    // And one on nodes tells which carry their pool's spec label.
    const nodeCache = new Informer<{ metadata: { name: string; labels?: Record<string, string> } }>(
      api,
      RESOURCES.nodes,
      { onError: (e) => log(`node watch: ${e}`) },
    );
    const labelled = new Set<string>();
    nodeCache.on((type, n) => {
      const name = n.metadata.name;
      if (type !== 'delete' && n.metadata.labels?.[POOL_SPEC_LABEL] === poolOf.get(name)) labelled.add(name);
      else labelled.delete(name);
      wake?.();
    });
    const watching = Promise.all([poolCache.run(stopWatch.signal), nodeCache.run(stopWatch.signal)]);
    await Promise.all([poolCache.synced, nodeCache.synced]);
    const waitPools = async (ok: () => boolean, timeoutMs: number, what: string) => {
      const deadline = performance.now() + timeoutMs;
      while (!ok()) {
        const left = deadline - performance.now();
        if (left <= 0)
          throw new Error(`bench controller: timed out after ${timeoutMs / 1000} s waiting for ${what}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.min(left, 1_000));
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
      return performance.now();
    };

    // Start the controller and time it.
    const metricsPort = await freePort();
    const tStart = performance.now();
    const proc = cluster.processes.start({
      name: 'controller',
      file: process.execPath,
      args: [
        join(REPO, 'src-agent/main.ts'),
        'controller',
        `--kubeconfig=${cluster.kubeconfigPath}`,
        '--leader-elect=false',
        '--controllers=nodepool',
        `--metrics-addr=127.0.0.1:${metricsPort}`,
      ],
    });
    let want = expected();
    const tStatuses = await waitPools(
      () => pools.every((p) => poolCorrect(poolCache.get(p), want.get(p) as never)),
      START_TIMEOUT_MS,
      'all pool statuses',
    );
    log(
      `all ${opts.pools} pool statuses correct ${((tStatuses - tStart) / 1000).toFixed(2)} s after controller start`,
    );
    // Every node carries its pool's spec label (the controller's node writes), counted from the
    // node watch: re-listing 5,000 nodes every 250 ms loaded the API server more than the
    // controller's own writes did, and so slowed down what it measured.
    await waitPools(
      () => {
        if (proc.hasExited())
          throw new Error(`bench controller: the controller exited (log ${proc.logPath})`);
        return labelled.size === opts.nodes;
      },
      START_TIMEOUT_MS,
      'every node labelled by its pool',
    );
    const tLabels = performance.now();
    log(
      `all ${opts.nodes} nodes carry their pool's labels ${((tLabels - tStart) / 1000).toFixed(2)} s after controller start`,
    );

    // Label changes: move one node to the next pool, wait until both pools say so.
    const latencies: number[] = [];
    for (let k = 0; k < opts.changes; k++) {
      const name = nodeName((k * 97) % opts.nodes);
      const from = poolOf.get(name) as string;
      const to = poolName((pools.indexOf(from) + 1) % opts.pools);
      poolOf.set(name, to);
      want = expected();
      const t = performance.now();
      await api.patch(RESOURCES.nodes, name, { metadata: { labels: { [LABEL_NODEPOOL]: to } } });
      const done = await waitPools(
        () =>
          poolCorrect(poolCache.get(from), want.get(from) as never) &&
          poolCorrect(poolCache.get(to), want.get(to) as never),
        CHANGE_TIMEOUT_MS,
        `pool statuses after moving ${name} from ${from} to ${to}`,
      );
      latencies.push(done - t);
    }
    latencies.sort((a, b) => a - b);

    // Steady state: let the moved nodes' label writes settle, then measure an idle window.
    await sleep(5_000);
    const a = await procSample(proc.pid);
    await sleep(STEADY_WINDOW_MS);
    const b = await procSample(proc.pid);
    const cpuPct = ((b.ticks - a.ticks) / CLOCK_TICKS / (STEADY_WINDOW_MS / 1000)) * 100;

    console.log('\ncontroller benchmark');
    console.log(`  nodes / pools                       ${opts.nodes} / ${opts.pools}`);
    console.log(`  start → all pool statuses correct   ${((tStatuses - tStart) / 1000).toFixed(2)} s`);
    console.log(`  start → all nodes carry pool labels ${((tLabels - tStart) / 1000).toFixed(2)} s`);
    console.log(
      `  label change → pool status (n=${latencies.length})   p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, max ${(latencies.at(-1) ?? Number.NaN).toFixed(0)} ms`,
    );
    console.log(`  steady-state RSS                    ${(b.rss / 1024 / 1024).toFixed(1)} MiB`);
    console.log(
      `  steady-state CPU (${STEADY_WINDOW_MS / 1000} s window)     ${cpuPct.toFixed(2)} % of one core`,
    );
    stopWatch.abort();
    await watching;
  } finally {
    stopWatch.abort();
    client?.close();
    await cluster?.stop().catch((e: unknown) => console.error(`bench controller: stopping the lab: ${e}`));
    await rm(dir, { recursive: true, force: true });
  }
}
