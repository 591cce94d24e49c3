/**
 * Wires the controller role: client, caches, reconcilers, leader election and the HTTP endpoint.
 * Caches and workers start only on the leader, so a standby replica costs almost nothing.
 */
import type { Server } from 'node:http';
import { KubeClient, RESOURCES } from '../api/kube-client.ts';
import { LABEL_REF_YURTAPPSET } from '../api/labels.ts';
import { NODEPOOL_RESOURCE, type NodePool } from '../api/nodepool.ts';
import { YURTAPPSET_RESOURCE, type YurtAppSet } from '../api/yurtappset.ts';
import { AutonomyController } from './autonomy/controller.ts';
import { CsrApproverController } from './csrapprover/controller.ts';
import { EventRecorder } from './events.ts';
import type { ControllerFlags } from './flags.ts';
import { startHttpServer } from './http-server.ts';
import { Informer } from './informer.ts';
import type { CertificateSigningRequest, Node, Pod, Workload } from './kube-types.ts';
import { LeaderElector } from './leader-election.ts';
import { CONTROLLER_METRICS, Metrics } from './metrics.ts';
import { NodePoolController } from './nodepool/controller.ts';
import type { ControllerRunner, Log } from './runner.ts';
import { startWebhookServer } from './webhook.ts';
import { YurtAppSetController } from './yurtappset/controller.ts';

export interface RunningController {
  /** Resolves when the controller has stopped (signal aborted or leadership lost). */
  done: Promise<void>;
  metrics: Metrics;
}

export async function startController(
  flags: ControllerFlags,
  signal: AbortSignal,
  log: Log,
): Promise<RunningController> {
  const client = KubeClient.fromFlags(flags.kubeconfig, flags.context, 'edgefleet-agent/controller');
  const metrics = new Metrics();
  const events = new EventRecorder(client, 'edgefleet-controller', (e) =>
    log.error(`event: ${(e as Error).message}`),
  );
  const onError = (what: string) => (e: unknown) => log.error(`${what}: ${(e as Error).message}`);
  const informers: Informer<never>[] = [];
  let synced = false;
  let leading = false;

  const elector = flags.leaderElect
    ? new LeaderElector(client, {
        namespace: flags.leaderElectNamespace,
        name: flags.leaderElectName,
        identity: flags.identity,
        leaseDurationSeconds: flags.leaseDurationSeconds,
        retryIntervalMs: Math.max(500, (flags.leaseDurationSeconds * 1000) / 5),
        renewIntervalMs: Math.max(500, (flags.leaseDurationSeconds * 1000) / 5),
        log,
      })
    : undefined;
  metrics.registry.collect(CONTROLLER_METRICS.leader, () => (leading ? 1 : 0));

  const runners: ControllerRunner[] = [];
  /** Runners that do not take flags.workers. */
  const workersOf = new Map<ControllerRunner, number>();
  let server: Server | undefined;
  if (flags.metricsAddr !== '0') {
    server = await startHttpServer(flags.metricsAddr, metrics, {
      healthy: () => !leading || synced,
      reconciles: (controller, key) => runners.find((r) => r.name === controller)?.reconciles(key),
    });
    log.info(`controller: /metrics and /healthz on ${flags.metricsAddr}`);
  }

  const inner = new AbortController();
  const stopInner = () => inner.abort();
  signal.addEventListener('abort', stopInner, { once: true });

  const resyncMs = flags.resyncSeconds * 1000 || undefined;

  // The webhook serves on every replica (the API server may call any), so its Node cache runs
  // from the start; the leader's controllers share it instead of watching nodes twice.
  let sharedNodes: Informer<Node> | undefined;
  let sharedNodesRun: Promise<void> = Promise.resolve();
  let webhook: Server | undefined;
  if (flags.webhookAddr !== '0') {
    sharedNodes = new Informer<Node>(client, RESOURCES.nodes, { resyncMs, onError: onError('nodes watch') });
    try {
      webhook = await startWebhookServer({
        addr: flags.webhookAddr,
        certFile: flags.webhookCertFile,
        keyFile: flags.webhookKeyFile,
        client,
        nodes: sharedNodes,
        metrics,
        log,
      });
    } catch (e) {
      server?.close();
      client.close();
      signal.removeEventListener('abort', stopInner);
      throw e;
    }
    sharedNodesRun = sharedNodes.run(inner.signal);
    log.info(`controller: endpoints webhook (HTTPS) on ${flags.webhookAddr}`);
  }

  async function lead(): Promise<void> {
    leading = true;
    const mk = <T extends { metadata: { name: string } }>(inf: Informer<T>) => {
      informers.push(inf as unknown as Informer<never>);
      return inf;
    };
    const nodes =
      sharedNodes ??
      mk(new Informer<Node>(client, RESOURCES.nodes, { resyncMs, onError: onError('nodes watch') }));
    // Only the pool controllers need NodePools, so a csrapprover-only replica runs without the CRDs.
    const needPools = flags.controllers.includes('nodepool') || flags.controllers.includes('yurtappset');
    const pools = needPools
      ? mk(
          new Informer<NodePool>(client, NODEPOOL_RESOURCE, {
            resyncMs,
            onError: onError('nodepools watch'),
          }),
        )
      : undefined;
    if (pools && flags.controllers.includes('nodepool')) {
      const c = new NodePoolController(client, nodes, pools, events, metrics, log);
      runners.push(c.nodes, c.pools);
      // 5,000 nodes joining 200 pools are 5,000 independent PATCHes: with 4 workers waiting on one
      // round trip each, labels took 4–6 times as long as the pools' statuses (npm run bench -- controller).
      workersOf.set(c.nodes, flags.nodeWorkers);
    }
    if (pools && flags.controllers.includes('yurtappset')) {
      const owned = { labelSelector: LABEL_REF_YURTAPPSET, resyncMs };
      const yas = mk(
        new Informer<YurtAppSet>(client, YURTAPPSET_RESOURCE, {
          resyncMs,
          onError: onError('yurtappsets watch'),
        }),
      );
      const deps = mk(
        new Informer<Workload>(client, RESOURCES.deployments, {
          ...owned,
          onError: onError('deployments watch'),
        }),
      );
      const sts = mk(
        new Informer<Workload>(client, RESOURCES.statefulsets, {
          ...owned,
          onError: onError('statefulsets watch'),
        }),
      );
      const c = new YurtAppSetController(client, yas, pools, deps, sts, events, log);
      runners.push(c.runner(metrics));
    }
    if (flags.controllers.includes('autonomy')) {
      const pods = mk(
        new Informer<Pod>(client, RESOURCES.pods, { resyncMs, onError: onError('pods watch') }),
      );
      const c = new AutonomyController(client, nodes, pods, events, metrics, log);
      runners.push(c.runner);
    }
    if (flags.controllers.includes('csrapprover')) {
      const csrs = mk(
        new Informer<CertificateSigningRequest>(client, RESOURCES.certificatesigningrequests, {
          resyncMs,
          onError: onError('certificatesigningrequests watch'),
        }),
      );
      const c = new CsrApproverController(client, csrs, nodes, events, metrics, log);
      runners.push(c.runner);
    }
    const watching = informers.map((i) => i.run(inner.signal));
    await Promise.all([...informers.map((i) => i.synced), nodes.synced]);
    synced = true;
    log.info(`controller: caches synced; running ${flags.controllers.join(', ')}`);
    const working = runners.map((r) => r.run(workersOf.get(r) ?? flags.workers));
    await new Promise<void>((r) => inner.signal.addEventListener('abort', () => r(), { once: true }));
    for (const r of runners) r.queue.shutdown();
    await Promise.allSettled([...watching, ...working]);
  }

  const done = (async () => {
    try {
      if (elector) {
        let leadDone: Promise<void> = Promise.resolve();
        await elector.run(
          inner.signal,
          () => {
            leadDone = lead().catch((e: unknown) => {
              log.error(`controller: ${(e as Error).message}`);
              inner.abort();
            });
          },
          () => {
            log.error('controller: lost leadership; stopping so no two replicas act at once');
            inner.abort();
          },
        );
        inner.abort();
        await leadDone;
      } else {
        await lead();
      }
    } finally {
      leading = false;
      signal.removeEventListener('abort', stopInner);
      inner.abort();
      await sharedNodesRun;
      webhook?.close();
      server?.close();
      client.close();
    }
  })();
  return { done, metrics };
}
