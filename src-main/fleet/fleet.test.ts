import { describe, expect, test } from 'vitest';
import { apiError, forbidden } from './api-errors.ts';
import { blockingPdb, skipReason } from './drain.ts';
import { parseManifest } from './manifest.ts';
import { buildYurtAppSet } from './yurtappsets.ts';

describe('API errors', () => {
  test('an RBAC 403 names the verb, resource and namespace, and the rule that would allow it', () => {
    const e = forbidden({
      verb: 'create',
      group: '',
      resource: 'pods',
      subresource: 'eviction',
      namespace: 'shop',
    });
    expect(e.message).toBe('Your account may not create pods/eviction in namespace shop.');
    expect(e.fix).toMatch(/a Role in namespace shop .* resources: \["pods\/eviction"\], verbs: \["create"\]/);
  });

  test("a webhook's refusal is passed on with its reason", () => {
    const body = { message: 'admission webhook "np.example" denied the request: pool has members' };
    const e = apiError(
      400,
      body,
      { verb: 'delete', group: 'apps.openyurt.io', resource: 'nodepools' },
      'pool a',
    );
    expect(e.code).toBe('fleet/refused');
    expect(e.message).toMatch(/pool has members/);
  });
});

describe('drain decisions', () => {
  test('the PDB named in a 429', () => {
    const body = {
      code: 429,
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      details: {
        causes: [
          {
            reason: 'DisruptionBudget',
            message: 'The disruption budget web needs 1 healthy pods and has 1 currently',
          },
        ],
      },
    };
    expect(blockingPdb(body)).toBe('web');
    expect(blockingPdb({ message: 'too many requests' })).toBeUndefined();
  });

  test('DaemonSet and mirror pods are skipped', () => {
    const ds = {
      metadata: {
        name: 'a',
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'd', uid: 'u', controller: true },
        ],
      },
    };
    expect(skipReason(ds)).toMatch(/DaemonSet/);
    expect(
      skipReason({ metadata: { name: 'm', annotations: { 'kubernetes.io/config.mirror': 'x' } } }),
    ).toMatch(/mirror/);
    expect(skipReason({ metadata: { name: 'p' } })).toBeUndefined();
  });
});

describe('YurtAppSet from a form', () => {
  test('pools, ports and per-pool tweaks land in OpenYurt field names', () => {
    const o = buildYurtAppSet(
      {
        namespace: 'shop',
        name: 'web',
        image: 'nginx:1.27',
        replicas: 2,
        ports: [{ containerPort: 80 }],
        pools: ['north', 'south'],
        tweaks: [{ pools: ['south'], replicas: 1, image: 'nginx:1.26' }],
      },
      'v1beta1',
    ) as { apiVersion: string; spec: Record<string, unknown> };
    expect(o.apiVersion).toBe('apps.openyurt.io/v1beta1');
    expect(o.spec).toEqual({
      pools: ['north', 'south'],
      workload: {
        workloadTemplate: {
          deploymentTemplate: {
            metadata: { labels: { app: 'web' } },
            spec: {
              replicas: 2,
              selector: { matchLabels: { app: 'web' } },
              template: {
                metadata: { labels: { app: 'web' } },
                spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] },
              },
            },
          },
        },
        workloadTweaks: [
          {
            pools: ['south'],
            tweaks: { replicas: 1, containerImages: [{ name: 'web', targetImage: 'nginx:1.26' }] },
          },
        ],
      },
    });
  });
});

describe('manifests', () => {
  test('YAML errors carry the line and column', () => {
    expect(() => parseManifest('kind: YurtAppSet\nmetadata:\n  name: a\n    bad: : x\n')).toThrow(
      /^Line 4, column/,
    );
  });

  test('JSON is accepted as YAML', () => {
    expect(parseManifest('{"kind":"YurtAppSet","metadata":{"name":"a"}}')).toEqual([
      { kind: 'YurtAppSet', metadata: { name: 'a' } },
    ]);
  });
});
