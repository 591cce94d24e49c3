/**
 * The demo fleet as an app service: one demo at a time, a status that every change pushes as a
 * `demo:progress` event, errors as values with a fix, and a stop that waits until no demo
 * process is left. Start answers at once; the build (first time) and the start run behind it.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { EventSink } from '../ipc/contract.ts';
import type { DemoStatus } from '../ipc/demo-types.ts';
import type { IpcHandlers } from '../ipc/router.ts';
import { demoError } from './errors.ts';
import { DEMO_CONTEXT, DemoFleet, type DemoStep } from './fleet.ts';
import type { ScheduleConfig } from './schedule.ts';
import {
  type EnsureBinariesOptions,
  ensureBinaries,
  type LabBinaries,
  missingBinaries,
} from './toolchain.ts';
import { DEFAULT_DEMO_NODES } from './topology.ts';

export const DEMO_CLUSTER_ID = `demo/${DEMO_CONTEXT}`;
/** What the first build takes on a 2-core machine with a warm network (measured: ~25 min). */
export const FIRST_BUILD_EXPECTED = 'about 20–30 minutes, once';
const START_STEPS: readonly DemoStep[] = [
  'control-plane',
  'crds',
  'controller',
  'nodes',
  'apps',
  'simulator',
];
const STEP_TEXT: Record<DemoStep, string> = {
  'control-plane': 'Starting etcd, kube-apiserver, kube-controller-manager and kube-scheduler on 127.0.0.1',
  crds: 'Installing the NodePool and YurtAppSet CRDs',
  controller: 'Starting the EdgeFleet controller',
  nodes: 'Creating the node pools and kwok nodes',
  apps: 'Rolling out the demo apps (YurtAppSets)',
  simulator: 'Starting the link simulator',
};

/** Where the demo keeps its state: the user's cache dir, apart from the (shareable) binary cache. */
export function defaultDemoDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'edgefleet-demo');
}

export interface DemoServiceOptions {
  emit: EventSink;
  log: (line: string) => void;
  /** The app's resources/ (CRDs, agent bundle). */
  resourcesDir: string;
  dir?: string;
  defaultNodes?: number;
  schedule?: ScheduleConfig;
  /** Called before the fleet's processes stop (the app ends its watches on the demo cluster). */
  beforeStop?: () => Promise<void>;
  /** Tests swap the build; the app uses the lab's. */
  ensureBinaries?: (opts: EnsureBinariesOptions) => Promise<LabBinaries>;
  missingBinaries?: () => string[];
}

type DemoHandlers = Pick<IpcHandlers, 'demo:start' | 'demo:status' | 'demo:stop'>;

export class DemoService {
  readonly dir: string;
  readonly #opts: DemoServiceOptions;
  #status: DemoStatus = { state: 'idle', detail: 'The demo fleet is not running.' };
  #fleet: DemoFleet | undefined;
  #starting: Promise<void> | undefined;
  #abort: AbortController | undefined;

  constructor(opts: DemoServiceOptions) {
    this.#opts = opts;
    this.dir = opts.dir ?? defaultDemoDir();
  }

  get buildLogPath(): string {
    return join(this.dir, 'logs', 'build.log');
  }

  status(): DemoStatus {
    return this.#status;
  }

  /** The running demo's kubeconfig (a cluster source while the demo runs). */
  kubeconfigPath(): string | undefined {
    return this.#status.state === 'running' ? this.#fleet?.kubeconfigPath : undefined;
  }

  /** Starts the demo in the background unless one is starting or running; answers with the status. */
  start(nodes: number = this.#opts.defaultNodes ?? DEFAULT_DEMO_NODES): DemoStatus {
    if (this.#starting || this.#fleet) return this.#status;
    const abort = new AbortController();
    this.#abort = abort;
    const startedAt = new Date().toISOString();
    this.#starting = this.#run(nodes, startedAt, abort.signal).finally(() => {
      this.#starting = undefined;
    });
    return this.#status;
  }

  /** Resolves once the current start has ended (running or failed). */
  async settled(): Promise<DemoStatus> {
    await this.#starting;
    return this.#status;
  }

  async stop(): Promise<DemoStatus> {
    this.#abort?.abort();
    await this.#starting;
    const fleet = this.#fleet;
    if (fleet) {
      this.#set({ state: 'stopping', detail: 'Stopping the demo fleet…', dir: this.dir });
      this.#fleet = undefined;
      try {
        await this.#opts.beforeStop?.();
        await fleet.stop();
      } catch (e) {
        this.#opts.log(`[demo] stop: ${(e as Error).message}`);
      }
    }
    if (this.#status.state !== 'failed' || fleet) {
      this.#set({ state: 'idle', detail: 'The demo fleet is not running.' });
    }
    return this.#status;
  }

  handlers(): DemoHandlers {
    return {
      'demo:start': (input) => this.start(input.nodes),
      'demo:status': () => this.status(),
      'demo:stop': () => this.stop(),
    };
  }

  async #run(nodes: number, startedAt: string, signal: AbortSignal): Promise<void> {
    const log = (line: string) => this.#opts.log(line);
    const base = { nodes, startedAt, dir: this.dir };
    try {
      const missing = (this.#opts.missingBinaries ?? missingBinaries)();
      const total = missing.length;
      let seen = 0;
      const building = (detail: string, done: number) =>
        this.#set({
          ...base,
          state: 'building',
          detail,
          progress: { done, total },
          expected: FIRST_BUILD_EXPECTED,
        });
      if (total > 0) {
        building(`First start: building ${missing.join(', ')} from the Go module proxy`, 0);
        log(
          `[demo] first start: building the lab binaries (${FIRST_BUILD_EXPECTED}); log ${this.buildLogPath}`,
        );
      }
      const binaries = await (this.#opts.ensureBinaries ?? ((o) => ensureBinaries(undefined, o)))({
        buildLogPath: this.buildLogPath,
        signal,
        log: (line) => {
          log(line);
          // One build step per binary ("go build X", "collecting kwok stages").
          const step = /\[build\] ((?:go build|collecting) .*)$/.exec(line)?.[1];
          if (!step || total === 0) return;
          seen++;
          building(`First start: ${step} (${Math.min(seen, total)} of ${total})`, Math.min(seen - 1, total));
        },
      });
      await this.#startFleet(nodes, base, binaries, signal);
    } catch (e) {
      if (signal.aborted) {
        this.#set({ state: 'idle', detail: 'The demo fleet was stopped before it was up.' });
        return;
      }
      const error = demoError(e, this.buildLogPath);
      log(`[demo] failed: ${error.message}${error.fix ? ` — ${error.fix}` : ''}`);
      this.#set({ ...base, state: 'failed', detail: error.message, error });
    }
  }

  async #startFleet(
    nodes: number,
    base: { nodes: number; startedAt: string; dir: string },
    binaries: LabBinaries,
    signal: AbortSignal,
  ): Promise<void> {
    if (signal.aborted) throw new Error('aborted');
    const fleet = await DemoFleet.start({
      dir: this.dir,
      nodes,
      binaries,
      resourcesDir: this.#opts.resourcesDir,
      ...(this.#opts.schedule ? { schedule: this.#opts.schedule } : {}),
      log: (line) => this.#opts.log(line),
      onStep: (step) => {
        const done = START_STEPS.indexOf(step);
        this.#set({
          ...base,
          state: 'starting',
          detail: `${STEP_TEXT[step]}…`,
          progress: { done, total: START_STEPS.length },
        });
      },
    });
    if (signal.aborted) {
      await fleet.stop();
      throw new Error('aborted');
    }
    this.#fleet = fleet;
    const seconds = ((Date.now() - Date.parse(base.startedAt)) / 1000).toFixed(0);
    this.#set({
      ...base,
      state: 'running',
      detail: `The demo fleet runs: ${nodes} kwok nodes in ${fleet.pools.length} pools (up in ${seconds} s).`,
      clusterId: DEMO_CLUSTER_ID,
      apiServerUrl: fleet.cluster.apiServerUrl,
      kubeconfigPath: fleet.kubeconfigPath,
    });
    this.#opts.log(`[demo] running: ${fleet.cluster.apiServerUrl}, kubeconfig ${fleet.kubeconfigPath}`);
  }

  #set(status: DemoStatus) {
    this.#status = status;
    this.#opts.emit('demo:progress', status);
  }
}
