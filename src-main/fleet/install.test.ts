import { resolve } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import type { ApiResponse } from '../clusters/api.ts';
import { AppError } from '../ipc/errors.ts';
import type { InstallEvent } from '../ipc/fleet-types.ts';
import { checkCapabilities } from './capabilities.ts';
import { applyInstall, customise, planInstall, readShipped, refOf } from './install.ts';
import { type CallOptions, FleetKube, pathOf, type Ref } from './kube.ts';

const RESOURCES = resolve(import.meta.dirname, '../../resources');
type Obj = {
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
};

/**
 * An API server in memory for the calls the installer makes. Anything else throws, so a request
 * the test did not expect fails it; real writes and dry runs are counted.
 */
class FakeKube extends FleetKube {
  readonly objects = new Map<string, Obj>();
  readonly forbidden = new Set<string>();
  /** "verb resource" pairs SelfSubjectAccessReview answers no to. */
  readonly denied = new Set<string>();
  writes = 0;
  dryRuns = 0;
  constructor() {
    super({} as KubeConfig);
  }
  put(o: Obj): void {
    this.objects.set(pathOf(refOf(o as never)), structuredClone(o));
  }
  override async call(method: string, r: Ref, o: CallOptions = {}): Promise<ApiResponse> {
    const path = pathOf(r);
    if (this.forbidden.has(path)) return { status: 403, body: { message: 'forbidden by the fake' } };
    if (method === 'GET' && !r.resource) return { status: 404, body: {} }; // discovery: nothing served
    if (method === 'GET' && !r.name) {
      const name = o.query?.fieldSelector?.replace(/^metadata\.name=/, '');
      const items = [...this.objects]
        .filter(([p, x]) => inList(p, r) && (!name || x.metadata.name === name))
        .map(([, x]) => x);
      return { status: 200, body: { items } };
    }
    if (method === 'GET') {
      const x = this.objects.get(path);
      return x ? { status: 200, body: structuredClone(x) } : { status: 404, body: { message: 'not found' } };
    }
    if (method === 'PATCH' && o.contentType === 'application/apply-patch+yaml') {
      const before = this.objects.get(path);
      const after = {
        ...(o.body as Obj),
        metadata: { ...(o.body as Obj).metadata, resourceVersion: String(Date.now()), uid: 'u' },
        ...(r.resource === 'customresourcedefinitions'
          ? { status: { conditions: [{ type: 'Established', status: 'True' }] } }
          : {}),
      };
      if (o.query?.dryRun === 'All') this.dryRuns++;
      else {
        this.writes++;
        this.objects.set(path, after);
      }
      return { status: before ? 200 : 201, body: after };
    }
    if (method === 'POST' && r.resource === 'selfsubjectaccessreviews') {
      const a = (o.body as { spec: { resourceAttributes: { verb: string; resource: string } } }).spec
        .resourceAttributes;
      return { status: 201, body: { status: { allowed: !this.denied.has(`${a.verb} ${a.resource}`) } } };
    }
    if (method === 'POST' && r.resource === 'selfsubjectreviews') return { status: 201, body: {} };
    if (method === 'POST' && r.resource === 'secrets') {
      this.writes++;
      const body = o.body as Obj;
      this.objects.set(`${path}/${body.metadata.name}`, body);
      return { status: 201, body };
    }
    throw new Error(`the fake API server did not expect ${method} ${path}`);
  }
}

/** Whether the object at `p` is in the list `r` (all namespaces when `r` names none). */
function inList(p: string, r: Ref): boolean {
  const base = pathOf({ group: r.group, version: r.version, resource: '' });
  const ns = r.namespace ? `/namespaces/${r.namespace}` : '(/namespaces/[^/]+)?';
  return new RegExp(`^${base}${ns}/${r.resource}/[^/]+$`).test(p);
}

const installer = (kube: FakeKube) => ({ kube, clusterId: 'src/ctx', resourcesDir: RESOURCES, options: {} });

describe('install plan', () => {
  test('a bare cluster: every shipped object is created, the serving Secret generated, nothing written', async () => {
    const kube = new FakeKube();
    const plan = await planInstall(installer(kube));
    expect(plan.refused).toBeUndefined();
    expect(plan.controlPlane.kind).toBe('none');
    expect(plan.objects.map((o) => o.id)).toEqual([
      'CustomResourceDefinition nodepools.apps.openyurt.io',
      'CustomResourceDefinition yurtappsets.apps.openyurt.io',
      'Secret kube-system/edgefleet-controller-webhook',
      'ServiceAccount kube-system/edgefleet-controller',
      'ClusterRole edgefleet-controller',
      'ClusterRoleBinding edgefleet-controller',
      'Role kube-system/edgefleet-controller-leader-election',
      'RoleBinding kube-system/edgefleet-controller-leader-election',
      'Deployment kube-system/edgefleet-controller',
      'Service kube-system/edgefleet-controller-webhook',
      'MutatingWebhookConfiguration edgefleet-controller',
    ]);
    expect(plan.objects.every((o) => o.change === 'create' && !o.error)).toBe(true);
    expect(plan.objects[2]?.note).toMatch(/self-signed CA/);
    expect(kube.writes).toBe(0);
    expect(kube.dryRuns).toBe(10);
  });

  test('stored objects are unchanged or update; a 403 is that object’s error with the rule to grant', async () => {
    const kube = new FakeKube();
    const { crds, manifest } = await readShipped(RESOURCES);
    const [np] = crds;
    const sa = manifest.find((o) => o.kind === 'ServiceAccount');
    const deployment = structuredClone(manifest.find((o) => o.kind === 'Deployment')) as unknown as Obj & {
      spec: { replicas: number };
    };
    if (!np || !sa) throw new Error('shipped objects missing');
    kube.put({ ...np, metadata: { ...np.metadata, resourceVersion: '7' } });
    kube.put(sa);
    deployment.spec.replicas = 1;
    kube.put(deployment);
    kube.forbidden.add('/apis/rbac.authorization.k8s.io/v1/clusterroles/edgefleet-controller');

    const plan = await planInstall(installer(kube));
    const change = (id: string) => plan.objects.find((o) => o.id === id);
    expect(change('CustomResourceDefinition nodepools.apps.openyurt.io')?.change).toBe('unchanged');
    expect(change('ServiceAccount kube-system/edgefleet-controller')?.change).toBe('unchanged');
    expect(change('Deployment kube-system/edgefleet-controller')?.change).toBe('update');
    expect(change('CustomResourceDefinition yurtappsets.apps.openyurt.io')?.change).toBe('create');
    const denied = change('ClusterRole edgefleet-controller')?.error;
    expect(denied?.code).toBe('fleet/forbidden');
    expect(denied?.message).toMatch(/may not get clusterroles\.rbac\.authorization\.k8s\.io in the cluster/);
    expect(denied?.fix).toMatch(/ClusterRole with .*resources: \["clusterroles"\]/);
    expect(kube.writes).toBe(0);
  });

  test('beside stock OpenYurt the plan is refused with the reason, and apply writes nothing', async () => {
    const kube = new FakeKube();
    kube.put({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'yurt-manager', namespace: 'kube-system' },
    } as Obj);
    const plan = await planInstall(installer(kube));
    expect(plan.controlPlane.kind).toBe('openyurt');
    expect(plan.refused).toMatch(/yurt-manager would fight over the same NodePools/);
    expect(plan.refused).toMatch(/Deployment kube-system\/yurt-manager/);
    expect(plan.objects).toEqual([]);
    const events: InstallEvent[] = [];
    const refused = await applyInstall(installer(kube), (e) => events.push(e)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('fleet/install-refused');
    expect(kube.writes + kube.dryRuns).toBe(0);
    expect(events).toEqual([]);
  });
});

describe('install apply', () => {
  test('a failed object stops the install: it carries the error, later objects are not applied', async () => {
    const kube = new FakeKube();
    kube.forbidden.add('/apis/apps/v1/namespaces/kube-system/deployments/edgefleet-controller');
    const events: InstallEvent[] = [];
    const result = await applyInstall(installer(kube), (e) => events.push(e));
    expect(result.ok).toBe(false);
    expect(result.error?.message).toMatch(
      /^Deployment kube-system\/edgefleet-controller: Your account may not get/,
    );
    expect(result.objects.at(-1)?.id).toBe('Deployment kube-system/edgefleet-controller');
    expect(kube.objects.has('/api/v1/namespaces/kube-system/services/edgefleet-controller-webhook')).toBe(
      false,
    );
    expect(events.filter((e) => e.state === 'failed').map((e) => e.id)).toEqual([
      'Deployment kube-system/edgefleet-controller',
    ]);
    // CRDs were waited for before anything else.
    expect(events.slice(0, 3).map((e) => e.state)).toEqual(['applying', 'waiting', 'applied']);
  }, 60_000);
});

describe('shipped resources', () => {
  test('read as written: OpenAPI keys stay as the API server expects them', async () => {
    const { crds } = await readShipped(RESOURCES);
    const text = JSON.stringify(crds);
    expect(text).toContain('"x-kubernetes-validations"');
    expect(text).toContain('"enum"');
    expect(text).not.toMatch(/"x_kubernetes_|"_enum"/);
  });
});

describe('install options', () => {
  test('image, pod-visible API address and no webhook configuration', async () => {
    const { manifest } = await readShipped(RESOURCES);
    const out = customise(manifest, {
      image: 'mirror.example:5000/edgefleet/agent:1.2',
      webhook: false,
      apiServerForPods: { host: '10.0.0.1', port: 6443 },
    });
    expect(out.map((o) => o.kind)).not.toContain('MutatingWebhookConfiguration');
    const c = (
      out.find((o) => o.kind === 'Deployment') as never as {
        spec: {
          template: { spec: { containers: { image: string; env?: { name: string; value: string }[] }[] } };
        };
      }
    ).spec.template.spec.containers[0];
    expect(c?.image).toBe('mirror.example:5000/edgefleet/agent:1.2');
    expect(c?.env).toEqual([
      { name: 'KUBERNETES_SERVICE_HOST', value: '10.0.0.1' },
      { name: 'KUBERNETES_SERVICE_PORT', value: '6443' },
    ]);
    // The shipped objects are not changed in place.
    expect(manifest.map((o) => o.kind)).toContain('MutatingWebhookConfiguration');
  });
});

describe('install capability', () => {
  const installCap = async (kube: FakeKube) =>
    (await checkCapabilities(kube, 'src/ctx')).actions.find((a) => a.action === 'edgefleet:install');

  test('offered on a bare cluster; refused beside stock OpenYurt whatever RBAC says', async () => {
    const kube = new FakeKube();
    expect(await installCap(kube)).toMatchObject({ enabled: true });
    kube.put({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'yurt-manager', namespace: 'kube-system' },
    } as Obj);
    const cap = await installCap(kube);
    expect(cap?.enabled).toBe(false);
    expect(cap?.reason).toMatch(/Stock OpenYurt runs here/);
  });

  test('disabled by RBAC with the rule that would allow it', async () => {
    const kube = new FakeKube();
    kube.denied.add('create deployments');
    const cap = await installCap(kube);
    expect(cap?.enabled).toBe(false);
    expect(cap?.reason).toMatch(/may not create deployments\.apps in namespace kube-system/);
    expect(cap?.missing).toEqual([
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['create'], namespace: 'kube-system' },
    ]);
  });
});
