/**
 * The OpenYurt names and shapes the renderer needs, re-exported so it imports only the IPC
 * contract (never src-agent directly): label, annotation and condition names.
 */
export {
  ANNOTATION_AUTONOMY_DURATION,
  ANNOTATION_AUTONOMY_LEGACY,
  ANNOTATION_BINDING,
  ANNOTATION_TOPOLOGY_KEYS,
  CONDITION_AUTONOMY,
  LABEL_IS_EDGE_WORKER,
  LABEL_NODEPOOL,
  LABEL_POOL_NAME,
  LABEL_REF_YURTAPPSET,
  TOPOLOGY_KEY_HOSTNAME,
  TOPOLOGY_KEY_NODEPOOL,
  TOPOLOGY_KEY_ZONE,
} from '../../src-agent/api/labels.ts';

/**
 * NodePool label naming the site a pool belongs to (the overview groups pools by it); our own
 * name, since OpenYurt has no site level. Pools without it fall under their region label.
 */
export const LABEL_SITE = 'edgefleet.io/site';
export const LABEL_REGION = 'topology.kubernetes.io/region';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';

/** The hub's node report annotation: one shape for the hub that writes it and the views and alerts that read it. */
export {
  ANNOTATION_NODE_REPORT,
  type NodeReport,
  parseNodeReport,
  REPORT_CERT_WARN_DAYS,
  REPORT_DISK_LOW_FRACTION,
  REPORT_MAX_INTERVAL_MS,
  reportProblems,
  type TunnelState,
} from '../../src-agent/api/node-report.ts';
/** Our rollout condition: the controller writes it with the same function the Apps view reads it. */
export {
  type RolloutStand,
  readRolloutCondition,
  rolloutPauseRequested,
} from '../../src-agent/api/rollout-condition.ts';
export { ANNOTATION_ROLLOUT_PAUSED, YAS_CONDITION_ROLLOUT } from '../../src-agent/api/yurtappset.ts';
/** The controller's rule for which pools a YurtAppSet targets (the Apps view shows the same). */
export { targetPoolNames } from '../../src-agent/api/yurtappset-pools.ts';
