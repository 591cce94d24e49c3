/**
 * Which apps.openyurt.io versions the cluster serves. Our CRDs serve NodePool v1beta2 and v1beta1;
 * a stock OpenYurt may serve only v1beta1 (older releases). We write the newest one we speak.
 */

import { OPENYURT_GROUP } from '../../src-agent/api/labels.ts';
import { AppError } from '../ipc/errors.ts';
import type { FleetKube, Ref } from './kube.ts';

/** Newest first: the versions whose schema we write. */
const SPOKEN = { nodepools: ['v1beta2', 'v1beta1'], yurtappsets: ['v1beta1'] } as const;
export type OpenYurtResource = keyof typeof SPOKEN;

export type Served = Partial<Record<OpenYurtResource, string>>;

export async function discoverOpenYurt(kube: FleetKube): Promise<Served> {
  const group = await kube.call('GET', { group: OPENYURT_GROUP, version: '', resource: '' });
  if (group.status === 404) return {};
  if (group.status !== 200) return {};
  const versions = ((group.body as { versions?: { version: string }[] }).versions ?? []).map(
    (v) => v.version,
  );
  const resourcesByVersion = new Map<string, Set<string>>();
  for (const v of versions) {
    const res = await kube.call('GET', { group: OPENYURT_GROUP, version: v, resource: '' });
    const names = ((res.body as { resources?: { name: string }[] } | undefined)?.resources ?? []).map(
      (r) => r.name,
    );
    resourcesByVersion.set(v, new Set(names));
  }
  const served: Served = {};
  for (const [resource, spoken] of Object.entries(SPOKEN) as [OpenYurtResource, readonly string[]][]) {
    const v = spoken.find((s) => resourcesByVersion.get(s)?.has(resource));
    if (v) served[resource] = v;
  }
  return served;
}

/** The Ref to write `resource` at, or a clear refusal when the cluster does not serve it. */
export function openYurtRef(
  served: Served,
  resource: OpenYurtResource,
  rest: Omit<Ref, 'group' | 'version' | 'resource'> = {},
): Ref {
  const version = served[resource];
  if (!version)
    throw new AppError(
      'fleet/not-served',
      `This cluster does not serve ${resource}.${OPENYURT_GROUP} in a version EdgeFleet writes (${SPOKEN[resource].join(', ')}).`,
      'Install EdgeFleet (CRDs + controller) or OpenYurt into the cluster first.',
    );
  return { group: OPENYURT_GROUP, version, resource, ...rest };
}
