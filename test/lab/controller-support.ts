/**
 * Shared setup for the controller lab tests: the CRDs installed and Established, the controller
 * started as its own process (`node src-agent/main.ts controller ...`), its leader Lease, the
 * shipped manifest as kubectl parses it, and a poll-until helper.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { installCrds as installCrdsFrom } from '../../src-main/demo/fleet.ts';
import type { Cluster } from './cluster.ts';
import { kubeconfigYaml } from './pki.ts';
import { freePort, type RunningProcess } from './proc.ts';

export const REPO = resolve(import.meta.dirname, '../..');
export const CRDS = join(REPO, 'resources/crds');
export const CONTROLLER_MANIFEST = join(REPO, 'resources/manifests/controller.yaml');

import { until } from './until.ts';

export { until };

/** Applies resources/crds and waits until the API server serves NodePool and YurtAppSet. */
export function installCrds(cluster: Cluster): Promise<void> {
  return installCrdsFrom(cluster, CRDS);
}

/** The holder of the controller's leader Lease in kube-system, if any. */
export async function controllerLeaseHolder(cluster: Cluster): Promise<string | undefined> {
  const lease = await cluster
    .kubectlJson<{ spec?: { holderIdentity?: string } }>([
      'get',
      'lease',
      '-n',
      'kube-system',
      'edgefleet-controller',
    ])
    .catch(() => undefined);
  return lease?.spec?.holderIdentity ?? undefined;
}

/** resources/manifests/controller.yaml's objects as kubectl parses them (client-side dry run). */
export async function controllerManifestObjects<T>(cluster: Cluster): Promise<T[]> {
  const printed = await cluster.kubectl([
    'create',
    '--dry-run=client',
    '-o',
    'json',
    '-f',
    CONTROLLER_MANIFEST,
  ]);
  // One JSON document per object.
  return printed.split(/\n(?=\{)/).map((doc) => JSON.parse(doc) as T);
}

/** The shipped manifest's ServiceAccount and the kinds of its RBAC objects. */
export const CONTROLLER_SA = { namespace: 'kube-system', name: 'edgefleet-controller' };
export const RBAC_KINDS = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];

/**
 * Applies the manifest's RBAC objects and writes a kubeconfig (in `dir`) that authenticates as the
 * manifest's ServiceAccount with a TokenRequest token, so a controller started with it proves the
 * RBAC is sufficient. Returns the applied RBAC objects and the kubeconfig's path.
 */
export async function controllerServiceAccountKubeconfig<T extends { kind: string }>(
  cluster: Cluster,
  dir: string,
): Promise<{ rbac: T[]; kubeconfig: string }> {
  const rbac = (await controllerManifestObjects<T>(cluster)).filter((o) => RBAC_KINDS.includes(o.kind));
  await cluster.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }),
  });
  const { namespace, name } = CONTROLLER_SA;
  const token = (await cluster.kubectl(['create', 'token', name, '-n', namespace, '--duration=2h'])).trim();
  const kubeconfig = join(dir, 'controller-sa.kubeconfig');
  await writeFile(
    kubeconfig,
    kubeconfigYaml({
      server: cluster.apiServerUrl,
      user: `system:serviceaccount:${namespace}:${name}`,
      ca: await readFile(cluster.caCertPath),
      token,
    }),
    { mode: 0o600 },
  );
  return { rbac, kubeconfig };
}

export interface ControllerProcess {
  proc: RunningProcess;
  metricsPort: number;
}

/**
 * Starts one controller replica in the cluster's process group, leader-electing in kube-system
 * under `name`, with metrics on a free loopback port. `extraArgs` go after the common flags.
 */
export async function startControllerProcess(
  cluster: Cluster,
  name: string,
  kubeconfig: string,
  extraArgs: string[] = [],
): Promise<ControllerProcess> {
  const metricsPort = await freePort();
  const proc = cluster.processes.start({
    name,
    file: process.execPath,
    args: [
      join(REPO, 'src-agent/main.ts'),
      'controller',
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect-namespace=kube-system',
      `--leader-elect-identity=${name}`,
      `--metrics-addr=127.0.0.1:${metricsPort}`,
      '--resync=60',
      ...extraArgs,
    ],
  });
  return { proc, metricsPort };
}

/** How many reconciles of `key` the controller process's `controller` has finished (its /debug/reconciles). */
export async function reconcileCount(metricsPort: number, controller: string, key: string): Promise<number> {
  const q = new URLSearchParams({ controller, key });
  const res = await fetch(`http://127.0.0.1:${metricsPort}/debug/reconciles?${q}`);
  if (!res.ok) throw new Error(`/debug/reconciles ${controller} ${key}: ${res.status} ${await res.text()}`);
  return Number((await res.text()).trim());
}

/**
 * Resolves once a reconcile of `key` that started after the first `poke(1)` (a harmless change that
 * makes the controller look at the object again) has finished: then an assertion that nothing
 * changed means the controller saw the object and left it, not that it never ran.
 *
 * Two pokes and two reconciles, because the first one counted may have been in flight before the
 * poke: then the poke re-queued the key and the second one started after it; if not, the first one
 * was the poke's own and the second poke guarantees the second.
 */
export async function reconciledAfter(
  metricsPort: number,
  controller: string,
  key: string,
  poke: (n: number) => Promise<unknown>,
  timeoutMs = 30_000,
): Promise<void> {
  const before = await reconcileCount(metricsPort, controller, key);
  for (const n of [1, 2]) {
    await poke(n);
    await until(`${controller} to reconcile ${key} after change ${n}`, timeoutMs, async () =>
      (await reconcileCount(metricsPort, controller, key)) >= before + n ? true : undefined,
    );
  }
}
