import { describe, expect, test } from 'vitest';
import type { WireObject } from './types.ts';
import { mapYurtAppSetPods } from './workload-pods.ts';

// Objects shaped as OpenYurt's yurt-manager writes them: Deployments named by generateName,
// labelled with ref-yurtappset and pool-name and owned by the YurtAppSet; pods labelled with the
// template labels, pool-name and controller-revision-hash only (plus kube's pod-template-hash).
const yas: WireObject = {
  apiVersion: 'apps.openyurt.io/v1beta1',
  kind: 'YurtAppSet',
  metadata: { name: 'demo', namespace: 'default', uid: 'yas-uid' },
  spec: {
    pools: ['hangzhou', 'beijing'],
    workload: {
      workloadTemplate: {
        deploymentTemplate: {
          metadata: { labels: { app: 'demo' } },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: 'demo' } },
            template: { metadata: { labels: { app: 'demo' } } },
          },
        },
      },
    },
  },
};
const deployment = (pool: string, name: string): WireObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name,
    namespace: 'default',
    uid: `${name}-uid`,
    labels: { app: 'demo', 'apps.openyurt.io/pool-name': pool, 'apps.openyurt.io/ref-yurtappset': 'demo' },
    ownerReferences: [
      {
        apiVersion: 'apps.openyurt.io/v1beta1',
        kind: 'YurtAppSet',
        name: 'demo',
        uid: 'yas-uid',
        controller: true,
      },
    ],
  },
  spec: { selector: { matchLabels: { app: 'demo', 'apps.openyurt.io/pool-name': pool } } },
});
const replicaSet = (deploy: string, hash: string): WireObject => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: {
    name: `${deploy}-${hash}`,
    namespace: 'default',
    uid: `${deploy}-${hash}-uid`,
    labels: { app: 'demo', 'pod-template-hash': hash },
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'Deployment', name: deploy, uid: `${deploy}-uid`, controller: true },
    ],
  },
});
const pod = (rs: string, hash: string, pool: string, suffix: string): WireObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: `${rs}-${suffix}`,
    namespace: 'default',
    labels: {
      app: 'demo',
      'apps.openyurt.io/pool-name': pool,
      'apps.openyurt.io/controller-revision-hash': 'demo-6c5f8d9b7',
      'pod-template-hash': hash,
    },
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, uid: `${rs}-uid`, controller: true },
    ],
  },
});

const hz = deployment('hangzhou', 'demo-hangzhou-8xk2l');
const bj = deployment('beijing', 'demo-beijing-q7t9m');
const hzRs = replicaSet('demo-hangzhou-8xk2l', '5d9c7b6f4');
const bjRs = replicaSet('demo-beijing-q7t9m', '7f6d5c4b3');
const pods = [
  pod('demo-hangzhou-8xk2l-5d9c7b6f4', '5d9c7b6f4', 'hangzhou', 'abcde'),
  pod('demo-hangzhou-8xk2l-5d9c7b6f4', '5d9c7b6f4', 'hangzhou', 'fghij'),
  pod('demo-beijing-q7t9m-7f6d5c4b3', '7f6d5c4b3', 'beijing', 'klmno'),
  pod('demo-beijing-q7t9m-7f6d5c4b3', '7f6d5c4b3', 'beijing', 'pqrst'),
];
const other: WireObject = {
  ...pod('other-6b5a4c3d2', '6b5a4c3d2', 'hangzhou', 'zzzzz'),
  metadata: { ...pod('x', 'y', 'hangzhou', 'z').metadata, name: 'other-1', labels: { app: 'other' } },
};

const summary = (r: ReturnType<typeof mapYurtAppSetPods>) =>
  r.pools.map((p) => ({ pool: p.pool, workloads: p.workloads.map((w) => w.name), pods: p.pods.length }));

describe('mapYurtAppSetPods with OpenYurt-shaped objects', () => {
  test('follows pod → ReplicaSet → Deployment to each pool: 4 pods, 2 per pool', () => {
    const r = mapYurtAppSetPods(yas, [...pods, other], { workloads: [hz, bj], replicaSets: [hzRs, bjRs] });
    expect(summary(r)).toEqual([
      { pool: 'beijing', workloads: ['demo-beijing-q7t9m'], pods: 2 },
      { pool: 'hangzhou', workloads: ['demo-hangzhou-8xk2l'], pods: 2 },
    ]);
    expect(r.unplaced).toEqual([]);
  });

  test('without ReplicaSets: the ReplicaSet name minus pod-template-hash names the Deployment', () => {
    const r = mapYurtAppSetPods(yas, pods, { workloads: [hz, bj] });
    expect(summary(r).map((p) => p.pods)).toEqual([2, 2]);
  });

  test('with only the YurtAppSet and pods (what the live view watches): the template selector and pool-name', () => {
    const r = mapYurtAppSetPods(yas, [...pods, other]);
    expect(summary(r)).toEqual([
      { pool: 'beijing', workloads: ['demo-beijing-q7t9m'], pods: 2 },
      { pool: 'hangzhou', workloads: ['demo-hangzhou-8xk2l'], pods: 2 },
    ]);
  });

  test('a pod with no owner is matched by the workload selector of its pool', () => {
    const bare = {
      ...pods[0],
      metadata: { ...(pods[0] as WireObject).metadata, ownerReferences: [] },
    } as WireObject;
    const r = mapYurtAppSetPods(yas, [bare], { workloads: [hz, bj] });
    expect(summary(r)).toEqual([{ pool: 'hangzhou', workloads: ['demo-hangzhou-8xk2l'], pods: 1 }]);
  });

  test('StatefulSet pods are tied to their StatefulSet directly', () => {
    const sts: WireObject = { ...deployment('beijing', 'db-beijing-x7k2q'), kind: 'StatefulSet' };
    const stsPod: WireObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'db-beijing-x7k2q-0',
        namespace: 'default',
        labels: {
          app: 'demo',
          'apps.openyurt.io/pool-name': 'beijing',
          'apps.openyurt.io/controller-revision-hash': 'db-5f4e3d2c1',
          'controller-revision-hash': 'db-beijing-x7k2q-7b9c8d',
          'statefulset.kubernetes.io/pod-name': 'db-beijing-x7k2q-0',
        },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'StatefulSet',
            name: 'db-beijing-x7k2q',
            uid: 's',
            controller: true,
          },
        ],
      },
    };
    const r = mapYurtAppSetPods(yas, [stsPod], { workloads: [sts] });
    expect(summary(r)).toEqual([{ pool: 'beijing', workloads: ['db-beijing-x7k2q'], pods: 1 }]);
  });

  test('a workload of another YurtAppSet does not claim pods', () => {
    const ref = {
      apiVersion: 'apps.openyurt.io/v1beta1',
      kind: 'YurtAppSet',
      name: 'else',
      uid: 'u',
      controller: true,
    };
    const foreign = { ...hz, metadata: { ...hz.metadata, ownerReferences: [ref] } };
    const r = mapYurtAppSetPods(yas, pods.slice(0, 2), { workloads: [foreign] });
    expect(r.pools).toEqual([]);
  });
});
