/**
 * YurtAppSets: create from a structured input or a manifest (server-side apply as `edgefleet-app`),
 * and change the template's image. The controller then renders one workload per pool and rolls the
 * change out pool by pool.
 *
 * Pause/resume: OpenYurt's YurtAppSet v1beta1 has no pause field, so the pause is our annotation
 * (apps.edgefleet.io/rollout-paused), honoured by our controller only (capabilities say so). Our
 * controller also stops by itself at a failing pool and goes on when it recovers.
 */
import { OPENYURT_GROUP } from '../../src-agent/api/labels.ts';
import type { WorkloadTweak, YurtAppSetSpec } from '../../src-agent/api/yurtappset.ts';
import { ANNOTATION_ROLLOUT_PAUSED } from '../../src-agent/api/yurtappset.ts';
import { AppError } from '../ipc/errors.ts';
import type { AppPort, PoolTweak, YurtAppSetWriteResult } from '../ipc/fleet-types.ts';
import type { WireObject } from '../ipc/types.ts';
import { openYurtRef, type Served } from './discovery.ts';
import { type FleetKube, retryOnConflict } from './kube.ts';
import { parseManifest } from './manifest.ts';

export interface YurtAppSetInput {
  namespace: string;
  name: string;
  image: string;
  replicas: number;
  containerName?: string;
  ports?: AppPort[];
  /** Pools by name, or every pool whose labels match (e.g. { "nodepool.openyurt.io/type": "edge" }). */
  pools?: string[];
  poolSelector?: Record<string, string>;
  tweaks?: PoolTweak[];
}

/** The object the structured input stands for (pure: tested without a cluster). */
export function buildYurtAppSet(input: YurtAppSetInput, version: string): Record<string, unknown> {
  if (!input.pools?.length && !input.poolSelector)
    throw new AppError('fleet/invalid', 'Choose the pools: by name or by a pool selector.');
  const container = input.containerName ?? input.name;
  const labels = { app: input.name };
  const containerSpec: Record<string, unknown> = { name: container, image: input.image };
  if (input.ports?.length) containerSpec.ports = input.ports;
  const tweaks: WorkloadTweak[] = (input.tweaks ?? []).map((t) => ({
    pools: t.pools,
    tweaks: {
      ...(t.replicas !== undefined ? { replicas: t.replicas } : {}),
      ...(t.image ? { containerImages: [{ name: container, targetImage: t.image }] } : {}),
    },
  }));
  const spec: YurtAppSetSpec = {
    workload: {
      workloadTemplate: {
        deploymentTemplate: {
          metadata: { labels },
          spec: {
            replicas: input.replicas,
            selector: { matchLabels: labels },
            template: { metadata: { labels }, spec: { containers: [containerSpec] } },
          },
        },
      },
      ...(tweaks.length ? { workloadTweaks: tweaks } : {}),
    },
  };
  if (input.pools?.length) spec.pools = input.pools;
  if (input.poolSelector) spec.nodepoolSelector = { matchLabels: input.poolSelector };
  return {
    apiVersion: `${OPENYURT_GROUP}/${version}`,
    kind: 'YurtAppSet',
    metadata: { name: input.name, namespace: input.namespace },
    spec,
  };
}

async function applyNew(
  kube: FleetKube,
  served: Served,
  obj: Record<string, unknown>,
  namespace: string,
  name: string,
  force: boolean,
): Promise<YurtAppSetWriteResult> {
  const ref = openYurtRef(served, 'yurtappsets', { namespace, name });
  const object = await kube.apply<WireObject>(ref, obj, { force });
  return { object, apiVersion: `${OPENYURT_GROUP}/${ref.version}` };
}

export async function createYurtAppSet(
  kube: FleetKube,
  served: Served,
  input: YurtAppSetInput,
): Promise<YurtAppSetWriteResult> {
  const ref = openYurtRef(served, 'yurtappsets', { namespace: input.namespace, name: input.name });
  if ((await kube.call('GET', ref)).status === 200)
    throw new AppError(
      'fleet/exists',
      `YurtAppSet ${input.namespace}/${input.name} already exists.`,
      'Choose another name or edit it.',
    );
  return applyNew(kube, served, buildYurtAppSet(input, ref.version), input.namespace, input.name, false);
}

/**
 * Applies one YurtAppSet manifest. `force` takes over fields another manager (kubectl, a GitOps
 * tool) set; without it such a conflict is refused with the server's list of fields.
 */
export function applyYurtAppSetManifest(
  kube: FleetKube,
  served: Served,
  text: string,
  defaultNamespace: string,
  force: boolean,
): Promise<YurtAppSetWriteResult> {
  const docs = parseManifest(text);
  if (docs.length !== 1)
    throw new AppError('fleet/bad-manifest', `Expected one YurtAppSet, found ${docs.length} documents.`);
  const obj = docs[0] as {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: unknown; namespace?: unknown };
  };
  if (
    obj.kind !== 'YurtAppSet' ||
    typeof obj.apiVersion !== 'string' ||
    !obj.apiVersion.startsWith(`${OPENYURT_GROUP}/`)
  )
    throw new AppError(
      'fleet/bad-manifest',
      `Expected kind YurtAppSet in ${OPENYURT_GROUP}, got ${String(obj.kind)} ${String(obj.apiVersion)}.`,
    );
  const name = obj.metadata?.name;
  if (typeof name !== 'string' || !name)
    throw new AppError('fleet/bad-manifest', 'metadata.name is missing.', 'Name the YurtAppSet.');
  const namespace = typeof obj.metadata?.namespace === 'string' ? obj.metadata.namespace : defaultNamespace;
  const version = obj.apiVersion.slice(OPENYURT_GROUP.length + 1);
  if (served.yurtappsets !== version)
    throw new AppError(
      'fleet/not-served',
      `The manifest is ${obj.apiVersion}, the cluster serves YurtAppSet ${served.yurtappsets ? `as ${OPENYURT_GROUP}/${served.yurtappsets}` : 'not at all'}.`,
    );
  return applyNew(kube, served, { ...obj, metadata: { ...obj.metadata, namespace } }, namespace, name, force);
}

type Container = { name: string; image?: string };
type Template = { spec?: { template?: { spec?: { containers?: Container[] } } } };
type Yas = WireObject & {
  spec?: {
    workload?: { workloadTemplate?: { deploymentTemplate?: Template; statefulSetTemplate?: Template } };
  };
};

/** A new image for one container of the template (the only one when `container` is not given). */
export function setYurtAppSetImage(
  kube: FleetKube,
  served: Served,
  namespace: string,
  name: string,
  image: string,
  container?: string,
): Promise<YurtAppSetWriteResult> {
  const ref = openYurtRef(served, 'yurtappsets', { namespace, name });
  return retryOnConflict(async () => {
    const cur = await kube.get<Yas>(ref);
    const wt = cur.spec?.workload?.workloadTemplate ?? {};
    const which = wt.deploymentTemplate ? 'deploymentTemplate' : 'statefulSetTemplate';
    const containers = wt[which]?.spec?.template?.spec?.containers ?? [];
    const names = containers.map((c) => c.name);
    const target = container ?? (names.length === 1 ? names[0] : undefined);
    if (!target || !names.includes(target))
      throw new AppError(
        'fleet/invalid',
        container
          ? `YurtAppSet ${namespace}/${name} has no container ${container} (it has ${names.join(', ') || 'none'}).`
          : `YurtAppSet ${namespace}/${name} has ${names.length} containers: say which one (${names.join(', ')}).`,
      );
    // A merge patch replaces lists whole, so the full container list goes back with one image changed,
    // guarded by the resourceVersion so a concurrent edit is re-read rather than overwritten.
    const patched = containers.map((c) => (c.name === target ? { ...c, image } : c));
    const object = await kube.mergePatch<WireObject>(ref, {
      metadata: { resourceVersion: cur.metadata.resourceVersion },
      spec: {
        workload: {
          workloadTemplate: { [which]: { spec: { template: { spec: { containers: patched } } } } },
        },
      },
    });
    return { object, apiVersion: `${OPENYURT_GROUP}/${ref.version}` };
  });
}

/** Holds or releases the rollout: sets or removes the pause annotation (a merge patch; no conflict possible). */
export async function setYurtAppSetPaused(
  kube: FleetKube,
  served: Served,
  namespace: string,
  name: string,
  paused: boolean,
): Promise<YurtAppSetWriteResult> {
  const ref = openYurtRef(served, 'yurtappsets', { namespace, name });
  const object = await kube.mergePatch<WireObject>(ref, {
    metadata: { annotations: { [ANNOTATION_ROLLOUT_PAUSED]: paused ? 'true' : null } },
  });
  return { object, apiVersion: `${OPENYURT_GROUP}/${ref.version}` };
}
