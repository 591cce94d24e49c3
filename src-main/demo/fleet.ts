/**
 * The demo fleet's parts, started in order and stopped together: the lab's control plane on
 * 127.0.0.1 as the current user, EdgeFleet's CRDs and controller (a child process), kwok with
 * nodes in 12 pools, a few YurtAppSets, and the simulator. Every process is in the cluster's
 * ProcessGroup, so one stop() ends all of them.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Cluster } from './cluster.ts';
import { KubeRest } from './kube-rest.ts';
import { Kwok } from './kwok.ts';
import { waitFor } from './proc.ts';
import { DEFAULT_SCHEDULE, type ScheduleConfig } from './schedule.ts';
import { Simulator } from './simulator.ts';
import type { LabBinaries } from './toolchain.ts';
import { type DemoPool, demoNodes, demoPools, nodePoolObjects, yurtAppSetObjects } from './topology.ts';

const REPO = resolve(import.meta.dirname, '../..');
export const DEMO_CONTEXT = 'edgefleet-demo';

export type DemoStep = 'control-plane' | 'crds' | 'controller' | 'nodes' | 'apps' | 'simulator';

export interface DemoFleetOptions {
  /** Everything of this demo: PKI, etcd data, kubeconfig, logs/. */
  dir: string;
  nodes: number;
  binaries: LabBinaries;
  /** The app's resources/ (CRDs; the agent bundle when built). */
  resourcesDir: string;
  schedule?: ScheduleConfig;
  log: (line: string) => void;
  onStep?: (step: DemoStep) => void;
}

/** Applies the CRDs in `crdsDir` and waits until the API server serves NodePool and YurtAppSet. */
export async function installCrds(cluster: Cluster, crdsDir: string): Promise<void> {
  await cluster.kubectl(['apply', '-f', crdsDir]);
  await cluster.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/nodepools.apps.openyurt.io',
    'crd/yurtappsets.apps.openyurt.io',
  ]);
}

/**
 * The controller program: the shipped bundle when built, else the source (Node runs .ts). Under
 * Electron, process.execPath is Electron itself: ELECTRON_RUN_AS_NODE makes it a plain Node.
 */
function controllerEntry(resourcesDir: string): string {
  const bundle = join(resourcesDir, 'agent', 'edgefleet-agent.mjs');
  return existsSync(bundle) ? bundle : join(REPO, 'src-agent', 'main.ts');
}

export class DemoFleet {
  readonly cluster: Cluster;
  readonly pools: readonly DemoPool[];
  readonly #simulator: Simulator;

  private constructor(cluster: Cluster, pools: readonly DemoPool[], simulator: Simulator) {
    this.cluster = cluster;
    this.pools = pools;
    this.#simulator = simulator;
  }

  get kubeconfigPath(): string {
    return this.cluster.kubeconfigPath;
  }

  static async start(opts: DemoFleetOptions): Promise<DemoFleet> {
    const step = opts.onStep ?? (() => undefined);
    step('control-plane');
    const cluster = await Cluster.start({
      dir: opts.dir,
      bindAddress: '127.0.0.1',
      binaries: opts.binaries,
      contextName: DEMO_CONTEXT,
      shutdownHook: false,
      log: opts.log,
    });
    try {
      step('crds');
      await installCrds(cluster, join(opts.resourcesDir, 'crds'));

      step('controller');
      const controller = cluster.processes.start({
        name: 'edgefleet-controller',
        file: process.execPath,
        args: [
          controllerEntry(opts.resourcesDir),
          'controller',
          `--kubeconfig=${cluster.kubeconfigPath}`,
          '--leader-elect-namespace=kube-system',
          '--leader-elect-identity=edgefleet-demo',
          '--metrics-addr=0',
          '--resync=30',
        ],
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      });

      step('nodes');
      const pools = demoPools(opts.nodes);
      await cluster.kubectl(['apply', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: nodePoolObjects(pools) }),
      });
      const kwok = await Kwok.start(cluster);
      await kwok.applyNodes(demoNodes(pools));
      // The controller is working once it has written a pool's status.
      const first = pools[0]?.name ?? '';
      await waitFor(
        'the EdgeFleet controller to report pool status',
        async () => {
          const np = await cluster.kubectlJson<{ status?: { nodes?: string[] } }>(['get', 'nodepool', first]);
          return (np.status?.nodes?.length ?? 0) > 0;
        },
        { timeoutMs: 90_000, intervalMs: 1_000, proc: controller },
      );

      step('apps');
      await cluster.kubectl(['apply', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: yurtAppSetObjects(pools) }),
      });

      step('simulator');
      const [ca, cert, key] = await Promise.all([
        readFile(cluster.caCertPath),
        readFile(join(cluster.pki.dir, 'admin.crt')),
        readFile(join(cluster.pki.dir, 'admin.key')),
      ]);
      const simulator = new Simulator({
        api: new KubeRest({ server: cluster.apiServerUrl, ca, cert, key }),
        config: opts.schedule ?? DEFAULT_SCHEDULE,
        log: opts.log,
      });
      await simulator.start();
      return new DemoFleet(cluster, pools, simulator);
    } catch (e) {
      await cluster.stop().catch((s: Error) => opts.log(`[demo] cleanup after failed start: ${s.message}`));
      throw e;
    }
  }

  async stop(): Promise<void> {
    await this.#simulator.stop();
    await this.cluster.stop();
  }
}
