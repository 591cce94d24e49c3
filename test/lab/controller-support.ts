/**
 * Shared setup for the controller lab tests: the CRDs installed and Established, the controller
 * started as its own process (`node src-agent/main.ts controller ...`), its leader Lease, the
 * shipped manifest as kubectl parses it, and a poll-until helper.
 */
import { join, resolve } from 'node:path';
import type { Cluster } from './cluster.ts';
import { freePort, type RunningProcess } from './proc.ts';

export const REPO = resolve(import.meta.dirname, '../..');
export const CRDS = join(REPO, 'resources/crds');
export const CONTROLLER_MANIFEST = join(REPO, 'resources/manifests/controller.yaml');

export { until } from './until.ts';

/** Applies resources/crds and waits until the API server serves NodePool and YurtAppSet. */
export async function installCrds(cluster: Cluster): Promise<void> {
  await cluster.kubectl(['apply', '-f', CRDS]);
  await cluster.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/nodepools.apps.openyurt.io',
    'crd/yurtappsets.apps.openyurt.io',
  ]);
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
