/**
 * OpenYurt's public label, annotation and condition names. We keep these exact so the app
 * manages stock OpenYurt clusters and our agent is a drop-in for theirs.
 */
export const OPENYURT_GROUP = 'apps.openyurt.io';

/** Node label: the NodePool a node belongs to. */
export const LABEL_NODEPOOL = 'apps.openyurt.io/nodepool';
/** Node label: "true" on edge workers. */
export const LABEL_IS_EDGE_WORKER = 'openyurt.io/is-edge-worker';
/** NodePool label: Cloud | Edge. */
export const LABEL_NODEPOOL_TYPE = 'nodepool.openyurt.io/type';

/** Node annotation: Go duration the node's pods survive a lost link; "0" = never evicted. */
export const ANNOTATION_AUTONOMY_DURATION = 'node.openyurt.io/autonomy-duration';
/** Node annotation (OpenYurt ≥1.5): pods are bound to the node. */
export const ANNOTATION_BINDING = 'apps.openyurt.io/binding';
/** Legacy node annotation: "true" enables autonomy. */
export const ANNOTATION_AUTONOMY_LEGACY = 'node.beta.openyurt.io/autonomy';
/** Node condition type reporting whether autonomy will work. */
export const CONDITION_AUTONOMY = 'Autonomy';

/** Service annotation: topology scoping of endpoints. */
export const ANNOTATION_TOPOLOGY_KEYS = 'openyurt.io/topologyKeys';
export const TOPOLOGY_KEY_HOSTNAME = 'kubernetes.io/hostname';
export const TOPOLOGY_KEY_NODEPOOL = 'openyurt.io/nodepool';
export const TOPOLOGY_KEY_ZONE = 'kubernetes.io/zone';
/** Service annotation: NodePort listens only on nodes of these pools. */
export const ANNOTATION_NODEPORT_LISTEN = 'nodeport.openyurt.io/listen';
/** Service annotation: hide a cloud-only Service from edge clients. */
export const ANNOTATION_DISCARD_SERVICE = 'svc.openyurt.io/discard';

/** Workload labels set by the YurtAppSet controller. */
export const LABEL_REF_YURTAPPSET = 'apps.openyurt.io/ref-yurtappset';
export const LABEL_POOL_NAME = 'apps.openyurt.io/pool-name';
