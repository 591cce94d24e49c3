import { PROCESS_METRICS, registerProcessMetrics } from '../metrics/process.ts';
import { type Catalog, metric, Registry } from '../metrics/registry.ts';

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Every metric the controller can expose (docs/metrics.md is generated from this). */
export const CONTROLLER_METRICS = {
  leader: metric({
    name: 'edgefleet_controller_leader',
    type: 'gauge',
    help: '1 while this replica is the active leader (or runs without leader election), else 0.',
    labels: [],
  }),
  reconciles: metric({
    name: 'edgefleet_controller_reconcile_total',
    type: 'counter',
    help: 'Finished reconciles by controller and result (success|error).',
    labels: ['controller', 'result'],
  }),
  reconcileDuration: metric({
    name: 'edgefleet_controller_reconcile_duration_seconds',
    type: 'histogram',
    help: 'Time spent in one reconcile, by controller.',
    labels: ['controller'],
    buckets: DURATION_BUCKETS,
  }),
  workqueueDepth: metric({
    name: 'edgefleet_controller_workqueue_depth',
    type: 'gauge',
    help: 'Keys waiting in the work queue, by controller.',
    labels: ['controller'],
  }),
  rolloutHeld: metric({
    name: 'edgefleet_controller_yurtappset_rollout_held',
    type: 'gauge',
    help: 'YurtAppSets whose rollout is held (1 each), by reason: paused (the pause annotation) or failing (stopped at a pool that does not become available).',
    labels: ['namespace', 'yurtappset', 'reason'],
  }),
  webhookKeptReady: metric({
    name: 'edgefleet_controller_webhook_endpoints_kept_ready_total',
    type: 'counter',
    help: 'Admissions that kept endpoints of autonomous cut-off nodes ready, by resource.',
    labels: ['resource'],
  }),
  webhookErrors: metric({
    name: 'edgefleet_controller_webhook_errors_total',
    type: 'counter',
    help: 'Admissions answered unchanged after an error.',
    labels: [],
  }),
  webhookDuration: metric({
    name: 'edgefleet_controller_webhook_duration_seconds',
    type: 'histogram',
    help: 'Time spent answering one admission review, by resource.',
    labels: ['resource'],
    buckets: DURATION_BUCKETS,
  }),
  csrApproved: metric({
    name: 'edgefleet_controller_csrapprover_approved_total',
    type: 'counter',
    help: 'kubelet-serving CSRs approved.',
    labels: [],
  }),
  csrRefused: metric({
    name: 'edgefleet_controller_csrapprover_refused_total',
    type: 'counter',
    help: 'kubelet-serving CSRs left pending or denied, by the rule they broke.',
    labels: ['rule', 'decision'],
  }),
} as const satisfies Catalog;

/** The controller's registry, shared by its reconcilers, webhook and CSR approver. */
export class Metrics {
  readonly registry = new Registry(CONTROLLER_METRICS, PROCESS_METRICS);
  readonly reconciles = this.registry.counter(CONTROLLER_METRICS.reconciles);
  readonly reconcileDuration = this.registry.histogram(CONTROLLER_METRICS.reconcileDuration);
  readonly webhookKeptReady = this.registry.counter(CONTROLLER_METRICS.webhookKeptReady);
  readonly webhookErrors = this.registry.counter(CONTROLLER_METRICS.webhookErrors);
  readonly webhookDuration = this.registry.histogram(CONTROLLER_METRICS.webhookDuration);
  readonly csrApproved = this.registry.counter(CONTROLLER_METRICS.csrApproved);
  readonly csrRefused = this.registry.counter(CONTROLLER_METRICS.csrRefused);

  constructor() {
    registerProcessMetrics(this.registry);
  }

  render(): Promise<string> {
    return this.registry.render();
  }
}
