/**
 * Makes the demo fleet move: on a timer it carries out schedule.ts's plan against the API.
 *
 * A cut stops kwok's heartbeat for the node (kwok drops a node that loses its managed label), so
 * the real node-lifecycle controller marks it Unknown after the grace period, taints it and, for
 * nodes without autonomy, evicts its pods — exactly what a lost link looks like. A restore gives
 * the label back and kwok reports Ready again. Autonomous nodes carry the `Autonomy` condition
 * True, as our hub reports it while its cache is healthy; the condition stays while the node is
 * cut off, which is how the app tells "cut off but autonomous" from "dead".
 */
import { ANNOTATION_AUTONOMY_DURATION, CONDITION_AUTONOMY } from '../../src-agent/api/labels.ts';
import type { KubeRest } from './kube-rest.ts';
import { KWOK_MANAGED_LABEL, KWOK_MANAGED_VALUE } from './kwok.ts';
import { type Cut, initialState, planTick, type ScheduleConfig, type ScheduleState } from './schedule.ts';
import { DEMO_NODE_LABEL } from './topology.ts';

interface NodeItem {
  metadata: { name: string; annotations?: Record<string, string> };
  status?: { conditions?: { type: string; status: string }[] };
}

export interface SimulatorOptions {
  api: KubeRest;
  config: ScheduleConfig;
  log: (line: string) => void;
  clock?: () => number;
}

export class Simulator {
  readonly #api: KubeRest;
  readonly #config: ScheduleConfig;
  readonly #log: (line: string) => void;
  readonly #clock: () => number;
  #state: ScheduleState;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(opts: SimulatorOptions) {
    this.#api = opts.api;
    this.#config = opts.config;
    this.#log = opts.log;
    this.#clock = opts.clock ?? Date.now;
    this.#state = initialState(opts.config);
  }

  get cuts(): readonly Cut[] {
    return this.#state.cuts;
  }

  /** Reports Autonomy on the autonomous nodes at once, then ticks every `tickMs`. */
  async start(): Promise<void> {
    await this.#ensureAutonomyConditions(await this.#listNodes());
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule() {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.tick()
        .catch((e: Error) => this.#log(`simulator tick failed (will retry): ${e.message}`))
        .finally(() => this.#schedule());
    }, this.#config.tickMs);
    // The app's lifetime is decided by its window/host, never by a demo timer.
    this.#timer.unref();
  }

  /** One step of the plan; public so tests can drive it without waiting for the timer. */
  async tick(): Promise<void> {
    const nodes = await this.#listNodes();
    const { state, actions } = planTick(
      this.#state,
      nodes.map((n) => n.metadata.name),
      this.#clock(),
      this.#config,
    );
    for (const a of actions) {
      if (this.#stopped) return;
      const value = a.kind === 'cut' ? null : KWOK_MANAGED_VALUE;
      await this.#api.mergePatch(`/api/v1/nodes/${encodeURIComponent(a.node)}`, {
        metadata: { labels: { [KWOK_MANAGED_LABEL]: value } },
      });
      this.#log(
        a.kind === 'cut'
          ? `simulator: cut ${a.node} for ${Math.round((a.until - this.#clock()) / 1000)} s`
          : `simulator: restored ${a.node}`,
      );
    }
    this.#state = state;
    // kwok rewrites a node's conditions when it takes it back: report Autonomy again.
    await this.#ensureAutonomyConditions(nodes);
  }

  async #listNodes(): Promise<NodeItem[]> {
    const list = await this.#api.get<{ items: NodeItem[] }>(
      `/api/v1/nodes?labelSelector=${encodeURIComponent(`${DEMO_NODE_LABEL}=true`)}`,
    );
    return list.items;
  }

  async #ensureAutonomyConditions(nodes: readonly NodeItem[]): Promise<void> {
    const now = new Date(this.#clock()).toISOString().replace(/\.\d+Z$/, 'Z');
    for (const n of nodes) {
      if (this.#stopped) return;
      if (n.metadata.annotations?.[ANNOTATION_AUTONOMY_DURATION] === undefined) continue;
      const has = n.status?.conditions?.some((c) => c.type === CONDITION_AUTONOMY && c.status === 'True');
      if (has) continue;
      await this.#api.strategicPatch(`/api/v1/nodes/${encodeURIComponent(n.metadata.name)}/status`, {
        status: {
          conditions: [
            {
              type: CONDITION_AUTONOMY,
              status: 'True',
              reason: 'AutonomyReady',
              message: 'hub cache is healthy; the node keeps its pods offline',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
        },
      });
    }
  }
}
