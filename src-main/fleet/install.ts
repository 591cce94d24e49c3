/**
 * Installs EdgeFleet into a cluster from the app's resources/: the CRDs, then the controller
 * manifest (RBAC, Deployment, webhook Service and configuration). A plan comes first: every object
 * server-side applied with dryRun=All and compared with what is stored. Refused beside stock
 * OpenYurt: our controller and yurt-manager would reconcile the same NodePools and YurtAppSets.
 *
 * Apply takes over conflicting fields (force): the shipped manifest is the wanted state, as with
 * `kubectl apply --server-side --force-conflicts`.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Pki } from '../demo/pki.ts';
import { AppError } from '../ipc/errors.ts';
import type {
  InstallEvent,
  InstallObject,
  InstallOptions,
  InstallOutcome,
  InstallPlan,
  InstallResult,
} from '../ipc/fleet-types.ts';
import { apiError } from './api-errors.ts';
import { controlPlaneOf } from './capabilities.ts';
import { discoverOpenYurt } from './discovery.ts';
import { accessOf, describeRef, type FleetKube, type Ref } from './kube.ts';

export const CRD_FILES = ['apps.openyurt.io_nodepools.yaml', 'apps.openyurt.io_yurtappsets.yaml'];
export const CONTROLLER_FILE = 'controller.yaml';
export const WEBHOOK_SECRET = { namespace: 'kube-system', name: 'edgefleet-controller-webhook' };
const WEBHOOK_DNS = [
  'edgefleet-controller-webhook.kube-system.svc',
  'edgefleet-controller-webhook.kube-system.svc.cluster.local',
];
const CONTROLLER_CONTAINER = 'controller';

type Obj = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
};

/** The kinds resources/ ships, and where the API serves them. */
const RESOURCES: Record<string, { resource: string; namespaced: boolean }> = {
  CustomResourceDefinition: { resource: 'customresourcedefinitions', namespaced: false },
  ServiceAccount: { resource: 'serviceaccounts', namespaced: true },
  ClusterRole: { resource: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { resource: 'clusterrolebindings', namespaced: false },
  Role: { resource: 'roles', namespaced: true },
  RoleBinding: { resource: 'rolebindings', namespaced: true },
  Secret: { resource: 'secrets', namespaced: true },
  Deployment: { resource: 'deployments', namespaced: true },
  Service: { resource: 'services', namespaced: true },
  MutatingWebhookConfiguration: { resource: 'mutatingwebhookconfigurations', namespaced: false },
};

export function refOf(o: Obj): Ref {
  const spec = RESOURCES[o.kind];
  if (!spec)
    throw new AppError(
      'fleet/install-resources',
      `The app ships a ${o.kind}, which the installer does not know.`,
    );
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const ref: Ref = {
    group: group ?? '',
    version: version ?? '',
    resource: spec.resource,
    name: o.metadata.name,
  };
  if (spec.namespaced) ref.namespace = o.metadata.namespace ?? 'default';
  return ref;
}

export function idOf(o: Obj): string {
  const ns = RESOURCES[o.kind]?.namespaced ? `${o.metadata.namespace ?? 'default'}/` : '';
  return `${o.kind} ${ns}${o.metadata.name}`;
}

/** The shipped objects: CRDs first, then the manifest in its own order. */
export async function readShipped(resourcesDir: string): Promise<{ crds: Obj[]; manifest: Obj[] }> {
  // Plain YAML, not client-node's loader: that one maps known kinds onto its typed models
  // (`x-kubernetes-validations` becomes `x_kubernetes_validations`), which the API server rejects.
  const read = async (path: string) => {
    const broken = (why: string) =>
      new AppError(
        'fleet/install-resources',
        `Cannot read ${path}: ${why}`,
        'The app’s resources/ is incomplete or damaged; reinstall the app.',
      );
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw broken((e as Error).message);
    }
    const docs = parseAllDocuments(text);
    if (!Array.isArray(docs)) return [];
    const objects: Obj[] = [];
    for (const d of docs) {
      const err = d.errors[0];
      if (err) throw broken(err.message);
      const o = d.toJS() as Obj | null;
      if (o) objects.push(o);
    }
    return objects;
  };
  const crds = (await Promise.all(CRD_FILES.map((f) => read(join(resourcesDir, 'crds', f))))).flat();
  const manifest = await read(join(resourcesDir, 'manifests', CONTROLLER_FILE));
  return { crds, manifest };
}

/** The manifest with the user's options: image, pod-visible API address, webhook or not. */
export function customise(manifest: Obj[], o: InstallOptions): Obj[] {
  const out = structuredClone(manifest).filter(
    (x) => o.webhook !== false || x.kind !== 'MutatingWebhookConfiguration',
  );
  for (const x of out) {
    if (x.kind !== 'Deployment') continue;
    const containers = (x as { spec?: { template?: { spec?: { containers?: Container[] } } } }).spec?.template
      ?.spec?.containers;
    const c = containers?.find((c) => c.name === CONTROLLER_CONTAINER);
    if (!c)
      throw new AppError(
        'fleet/install-resources',
        `The shipped ${idOf(x)} has no container "${CONTROLLER_CONTAINER}".`,
      );
    if (o.image) c.image = o.image;
    if (o.apiServerForPods)
      c.env = [
        ...(c.env ?? []).filter((e) => !e.name.startsWith('KUBERNETES_SERVICE_')),
        { name: 'KUBERNETES_SERVICE_HOST', value: o.apiServerForPods.host },
        { name: 'KUBERNETES_SERVICE_PORT', value: String(o.apiServerForPods.port) },
      ];
  }
  return out;
}

interface Container {
  name: string;
  image: string;
  env?: { name: string; value: string }[];
}

/** Stored state without what every write changes (resourceVersion, managedFields, timestamps). */
function comparable(o: unknown): unknown {
  const c = structuredClone(o) as { metadata?: Record<string, unknown>; status?: unknown };
  if (c.metadata) {
    for (const k of ['resourceVersion', 'managedFields', 'generation', 'creationTimestamp', 'uid'])
      delete c.metadata[k];
  }
  delete c.status;
  return c;
}

async function stored(kube: FleetKube, ref: Ref): Promise<unknown | undefined> {
  const res = await kube.call('GET', ref);
  if (res.status === 404) return undefined;
  if (res.status >= 200 && res.status < 300) return res.body;
  throw apiError(res.status, res.body, accessOf('GET', ref), describeRef(ref));
}

/** What applying `o` would do, asked of the API server (dry run), never guessed. */
export async function classify(kube: FleetKube, o: Obj): Promise<InstallObject> {
  const ref = refOf(o);
  const entry: InstallObject = { id: idOf(o), kind: o.kind, name: o.metadata.name, change: 'create' };
  if (ref.namespace) entry.namespace = ref.namespace;
  try {
    const before = await stored(kube, ref);
    const after = await kube.apply(ref, o, { dryRun: true, force: true });
    if (before !== undefined)
      entry.change =
        JSON.stringify(comparable(before)) === JSON.stringify(comparable(after)) ? 'unchanged' : 'update';
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    entry.error = e.toIpc();
  }
  return entry;
}

async function detect(kube: FleetKube): Promise<Pick<InstallPlan, 'controlPlane' | 'refused'>> {
  const controlPlane = await controlPlaneOf(kube, await discoverOpenYurt(kube));
  if (controlPlane.kind === 'openyurt')
    return {
      controlPlane,
      refused: `Stock OpenYurt runs here (${controlPlane.evidence.join(', ')}): EdgeFleet’s controller beside yurt-manager would fight over the same NodePools and YurtAppSets. Remove yurt-manager first, or keep OpenYurt and use the app without our controller.`,
    };
  return { controlPlane };
}

export interface Installer {
  kube: FleetKube;
  clusterId: string;
  resourcesDir: string;
  options: InstallOptions;
}

export async function planInstall(i: Installer): Promise<InstallPlan> {
  const [{ crds, manifest }, cp] = await Promise.all([readShipped(i.resourcesDir), detect(i.kube)]);
  const plan: InstallPlan = { clusterId: i.clusterId, ...cp, objects: [] };
  if (plan.refused) return plan;
  const secret = await webhookSecret(i.kube);
  const objects = [...crds, ...customise(manifest, i.options)];
  const ca = secret?.data?.['ca.crt'];
  if (ca) for (const x of objects) if (x.kind === 'MutatingWebhookConfiguration') setCaBundle(x, ca);
  // The CRDs are not there yet on a bare cluster: nothing of ours depends on them at dry-run time.
  plan.objects = await Promise.all(objects.map((o) => classify(i.kube, o)));
  plan.objects.splice(crds.length, 0, {
    id: `Secret ${WEBHOOK_SECRET.namespace}/${WEBHOOK_SECRET.name}`,
    kind: 'Secret',
    name: WEBHOOK_SECRET.name,
    namespace: WEBHOOK_SECRET.namespace,
    change: secret ? 'unchanged' : 'create',
    note: secret
      ? 'kept: the webhook’s serving certificate is already there'
      : `generated: a self-signed CA and a serving certificate for ${WEBHOOK_DNS[0]}`,
  });
  return plan;
}

interface SecretJson {
  data?: Record<string, string>;
}

async function webhookSecret(kube: FleetKube): Promise<SecretJson | undefined> {
  const ref: Ref = { group: '', version: 'v1', resource: 'secrets', ...WEBHOOK_SECRET };
  return (await stored(kube, ref)) as SecretJson | undefined;
}

/** A kubernetes.io/tls Secret for the webhook Service, and the CA (PEM) for the caBundle. */
async function newWebhookSecret(): Promise<{ secret: Obj; caPem: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'edgefleet-webhook-pki-'));
  try {
    const pki = await Pki.create(dir, { caCommonName: 'edgefleet-controller-webhook-ca' });
    const cert = await pki.issueServerCert('webhook', WEBHOOK_DNS[0] as string, WEBHOOK_DNS, 3650);
    const [crt, key, ca] = await Promise.all([
      readFile(cert.cert),
      readFile(cert.key),
      readFile(pki.ca.cert),
    ]);
    return {
      caPem: ca.toString('utf8'),
      secret: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: { ...WEBHOOK_SECRET },
        data: {
          'tls.crt': crt.toString('base64'),
          'tls.key': key.toString('base64'),
          'ca.crt': ca.toString('base64'),
        },
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function setCaBundle(webhookConfig: Obj, caPemBase64: string): void {
  for (const w of (webhookConfig as { webhooks?: { clientConfig?: { caBundle?: string } }[] }).webhooks ?? [])
    w.clientConfig = { ...w.clientConfig, caBundle: caPemBase64 };
}

async function established(kube: FleetKube, crd: Obj, timeoutMs: number): Promise<void> {
  const ref = refOf(crd);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const o = await kube.get<{
      status?: { conditions?: { type: string; status: string; message?: string }[] };
    }>(ref);
    const c = o.status?.conditions?.find((x) => x.type === 'Established');
    if (c?.status === 'True') return;
    if (Date.now() > deadline)
      throw new AppError(
        'fleet/install-timeout',
        `${idOf(crd)} was not Established within ${Math.round(timeoutMs / 1000)} s${c?.message ? `: ${c.message}` : ''}.`,
        'Check the API server’s log, then install again (applying is idempotent).',
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function applyInstall(
  i: Installer,
  emit: (e: InstallEvent) => void,
  o: { establishedTimeoutMs?: number } = {},
): Promise<InstallResult> {
  const cp = await detect(i.kube);
  if (cp.refused) throw new AppError('fleet/install-refused', cp.refused);
  const { crds, manifest } = await readShipped(i.resourcesDir);
  const rest = customise(manifest, i.options);
  const result: InstallResult = { clusterId: i.clusterId, ok: true, objects: [] };
  const event = (id: string, state: InstallEvent['state'], extra: Partial<InstallEvent> = {}) =>
    emit({ clusterId: i.clusterId, at: new Date().toISOString(), id, state, ...extra });

  const step = async (
    id: string,
    base: Omit<InstallOutcome, 'change' | 'id'>,
    run: () => Promise<InstallObject['change']>,
  ) => {
    event(id, 'applying');
    try {
      const change = await run();
      result.objects.push({ id, ...base, change });
      event(id, 'applied');
      return true;
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      const error = e.toIpc();
      result.objects.push({ id, ...base, error });
      result.ok = false;
      result.error = { ...error, message: `${id}: ${error.message}` };
      event(id, 'failed', { error });
      return false;
    }
  };
  const applyOne = (x: Obj, after?: () => Promise<void>) =>
    step(idOf(x), baseOf(x), async () => {
      const ref = refOf(x);
      const before = await stored(i.kube, ref);
      const stored2 = await i.kube.apply(ref, x, { force: true });
      await after?.();
      if (before === undefined) return 'create';
      return JSON.stringify(comparable(before)) === JSON.stringify(comparable(stored2))
        ? 'unchanged'
        : 'update';
    });

  for (const crd of crds)
    if (
      !(await applyOne(crd, async () => {
        event(idOf(crd), 'waiting', { detail: 'Established' });
        await established(i.kube, crd, o.establishedTimeoutMs ?? 60_000);
      }))
    )
      return result;

  // The Deployment's pods mount the serving Secret: it must exist before them, webhook or not.
  const secretId = `Secret ${WEBHOOK_SECRET.namespace}/${WEBHOOK_SECRET.name}`;
  let caPem: string | undefined;
  const ok = await step(
    secretId,
    { kind: 'Secret', name: WEBHOOK_SECRET.name, namespace: WEBHOOK_SECRET.namespace },
    async () => {
      const existing = await webhookSecret(i.kube);
      if (existing) {
        const ca = existing.data?.['ca.crt'];
        if (ca) caPem = Buffer.from(ca, 'base64').toString('utf8');
        return 'unchanged';
      }
      const made = await newWebhookSecret();
      caPem = made.caPem;
      await i.kube.create(
        { group: '', version: 'v1', resource: 'secrets', namespace: WEBHOOK_SECRET.namespace },
        made.secret,
      );
      return 'create';
    },
  );
  if (!ok) return result;

  for (const x of rest) {
    // Without a CA we know (a Secret from cert-manager), its CA injector fills caBundle.
    if (x.kind === 'MutatingWebhookConfiguration' && caPem)
      setCaBundle(x, Buffer.from(caPem).toString('base64'));
    if (!(await applyOne(x))) return result;
  }
  return result;
}

function baseOf(x: Obj): Omit<InstallOutcome, 'change' | 'id'> {
  const ref = refOf(x);
  return { kind: x.kind, name: x.metadata.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) };
}
