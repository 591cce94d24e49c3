/**
 * Worker-thread entry: one cluster's LiveCluster (list/watch, JSON parsing, reduction, batching)
 * off the thread that answers IPC. Talks to live-cluster-worker.ts by messages only. It may be
 * started before anyone knows which cluster it will serve (live-worker-spare.ts): its modules
 * load at once and the cluster comes with the first message, `init`.
 */
import { parentPort } from 'node:worker_threads';
import { KubeConfig } from '@kubernetes/client-node';
import { LiveCluster } from './live-cluster.ts';
import type { ToHost, ToWorker } from './live-worker-protocol.ts';

const port = parentPort;
if (!port) throw new Error('live-worker.ts runs only as a worker thread');
const post = (m: ToHost) => port.postMessage(m);
let live: LiveCluster | undefined;

port.on('message', (m: ToWorker) => {
  if (m.type === 'init') {
    if (live) throw new Error(`live-worker: a second init (for ${m.id}); one worker serves one cluster`);
    const kc = new KubeConfig();
    kc.loadFromString(m.kubeconfig);
    live = new LiveCluster(
      m.id,
      kc,
      (channel, payload) => post({ type: 'event', channel, payload }),
      m.options,
    );
    live.start();
  } else if (!live) throw new Error(`live-worker: ${m.type} before init`);
  else if (m.type === 'snapshot') post({ type: 'snapshot', reqId: m.reqId, snapshot: live.snapshot() });
  else if (m.type === 'alerts') post({ type: 'alerts', reqId: m.reqId, snapshot: live.alertsSnapshot() });
  else if (m.type === 'alertRules') live.setAlertRules(m.rules);
  else if (m.type === 'stop') void live.stop().then(() => post({ type: 'stopped' }));
});
