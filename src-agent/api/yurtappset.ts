/** YurtAppSet (apps.openyurt.io/v1beta1), field names exactly as OpenYurt's. */
import type { KubeObject, ObjectMeta, ResourceRef } from './kube-client.ts';
import { OPENYURT_GROUP } from './labels.ts';
import type { Condition } from './nodepool.ts';

export const YURTAPPSET_RESOURCE = {
  group: OPENYURT_GROUP,
  version: 'v1beta1',
  plural: 'yurtappsets',
  kind: 'YurtAppSet',
  namespaced: true,
} as const satisfies ResourceRef;

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** A Deployment or StatefulSet template: metadata + the workload's spec, kept schemaless. */
export interface WorkloadTemplateSpec {
  metadata?: Partial<ObjectMeta>;
  spec: Record<string, unknown>;
}

export interface WorkloadTemplate {
  deploymentTemplate?: WorkloadTemplateSpec;
  statefulSetTemplate?: WorkloadTemplateSpec;
}

export interface ContainerImage {
  name: string;
  targetImage: string;
}

export interface TweakPatch {
  path: string;
  operation: 'add' | 'remove' | 'replace';
  value?: unknown;
}

export interface Tweaks {
  replicas?: number;
  containerImages?: ContainerImage[];
  patches?: TweakPatch[];
}

export interface WorkloadTweak {
  nodepoolSelector?: LabelSelector;
  pools?: string[];
  tweaks: Tweaks;
}

export interface YurtAppSetSpec {
  workload: {
    workloadTemplate: WorkloadTemplate;
    workloadTweaks?: WorkloadTweak[];
  };
  nodepoolSelector?: LabelSelector;
  pools?: string[];
  revisionHistoryLimit?: number;
}

export interface YurtAppSetStatus {
  observedGeneration?: number;
  collisionCount?: number;
  currentRevision?: string;
  conditions?: Condition[];
  readyWorkloads?: number;
  updatedWorkloads?: number;
  totalWorkloads?: number;
}

export interface YurtAppSet extends KubeObject {
  spec: YurtAppSetSpec;
  status?: YurtAppSetStatus;
}

/** OpenYurt's YurtAppSet condition types, plus our rollout condition. */
export const YAS_CONDITION_POOL_FOUND = 'PoolFound';
export const YAS_CONDITION_APP_DISPATCHED = 'AppDispatched';
export const YAS_CONDITION_APP_UPDATED = 'AppUpdated';
export const YAS_CONDITION_APP_READY = 'AppReady';
/** Ours: how the rollout stands (api/rollout-condition.ts writes and reads it). */
export const YAS_CONDITION_ROLLOUT = 'RolloutProgressing';

/**
 * YurtAppSet annotation (ours; OpenYurt has no field for it): how many pools may be updating or
 * unavailable at once during a template rollout. Default 1: strictly pool by pool.
 */
export const ANNOTATION_MAX_UNAVAILABLE_POOLS = 'apps.edgefleet.io/max-unavailable-pools';
/**
 * YurtAppSet annotation (ours, like a Deployment's spec.paused): "true" holds the rollout — the
 * controller creates, updates and deletes no workload until it is removed.
 */
export const ANNOTATION_ROLLOUT_PAUSED = 'apps.edgefleet.io/rollout-paused';
/** Workload annotation: hash of the rendered per-pool spec this workload was written from. */
export const ANNOTATION_WORKLOAD_REVISION = 'apps.edgefleet.io/pool-revision';
