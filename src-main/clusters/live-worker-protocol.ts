/** Messages between a LiveClusterWorker (main thread) and its live-worker.ts thread. */
import type { AlertRules, AlertsSnapshot } from '../ipc/alerts-types.ts';
import type { EventChannel, EventMap } from '../ipc/contract.ts';
import type { ClusterSnapshot } from '../ipc/types.ts';
import type { LiveClusterOptions } from './live-cluster.ts';

/** `init` comes first and once: which cluster the (possibly pre-started) worker serves. */
export type ToWorker =
  | { type: 'init'; id: string; kubeconfig: string; options: Omit<LiveClusterOptions, 'redact' | 'now'> }
  | { type: 'snapshot'; reqId: number }
  | { type: 'alerts'; reqId: number }
  | { type: 'alertRules'; rules: AlertRules }
  | { type: 'stop' };

export type ToHost =
  | { type: 'event'; channel: EventChannel; payload: EventMap[EventChannel] }
  | { type: 'snapshot'; reqId: number; snapshot: ClusterSnapshot }
  | { type: 'alerts'; reqId: number; snapshot: AlertsSnapshot }
  | { type: 'stopped' };
