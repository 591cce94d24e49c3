/**
 * Worker-thread entry: one cluster's LiveCluster (list/watch, JSON parsing, reduction, batching)
 * off the thread that answers IPC. Talks to live-cluster-worker.ts by messages only.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { KubeConfig } from '@kubernetes/client-node';
import { LiveCluster, type LiveClusterOptions } from './live-cluster.ts';
import type { ToHost, ToWorker } from './live-worker-protocol.ts';

const port = parentPort;
if (!port) throw new Error('live-worker.ts runs only as a worker thread');
const data = workerData as { id: string; kubeconfig: string; options: LiveClusterOptions };
const kc = new KubeConfig();
kc.loadFromString(data.kubeconfig);
const post = (m: ToHost) => port.postMessage(m);
const live = new LiveCluster(
  data.id,
  kc,
  (channel, payload) => post({ type: 'event', channel, payload }),
  data.options,
);
live.start();

port.on('message', (m: ToWorker) => {
  if (m.type === 'snapshot') post({ type: 'snapshot', reqId: m.reqId, snapshot: live.snapshot() });
  else if (m.type === 'alerts') post({ type: 'alerts', reqId: m.reqId, snapshot: live.alertsSnapshot() });
  else if (m.type === 'alertRules') live.setAlertRules(m.rules);
  else if (m.type === 'stop') void live.stop().then(() => post({ type: 'stopped' }));
});
