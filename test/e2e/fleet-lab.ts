/**
 * The fleet the e2e tests look at: the CRDs, NodePools with two kwok nodes each, and our
 * controller as a process, ready once it has written the first pool's status.
 */

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LABEL_NODEPOOL } from '../../src-agent/api/labels.ts';
import { installCrds, startControllerProcess } from '../lab/controller-support.ts';
import { KWOK_TAINT } from '../lab/kwok.ts';
import type { Lab } from '../lab/lab.ts';
import { kubeconfigYaml } from '../lab/pki.ts';
import { until } from '../lab/until.ts';

type PolicyRule = { apiGroups: string[]; resources: string[]; verbs: string[] };

/**
 * A ServiceAccount `name` in default bound to a ClusterRole with exactly `rules`, and a
 * kubeconfig for it (a one-hour token) written to `<dir>/<name>.kubeconfig`: a user whose RBAC
 * the test chooses. Returns the kubeconfig's path.
 */
export async function serviceAccountKubeconfig(
  lab: Lab,
  dir: string,
  name: string,
  rules: PolicyRule[],
): Promise<string> {
  await lab.cluster.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'default' } },
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
          subjects: [{ kind: 'ServiceAccount', name, namespace: 'default' }],
        },
      ],
    }),
  });
  const token = (
    await lab.cluster.kubectl(['create', 'token', name, '-n', 'default', '--duration=1h'])
  ).trim();
  const path = join(dir, `${name}.kubeconfig`);
  const ca = await readFile(lab.cluster.caCertPath);
  await writeFile(path, kubeconfigYaml({ server: lab.cluster.apiServerUrl, user: name, ca, token }));
  return path;
}

/** `untaint`: drop kwok's NoSchedule taint so pods without its toleration (made in the UI) land. */
export async function seedFleet(lab: Lab, pools: string[], opts: { untaint?: boolean } = {}): Promise<void> {
  const kwok = lab.kwok;
  if (!kwok) throw new Error('lab started without kwok');
  await installCrds(lab.cluster);
  for (const pool of pools) {
    await lab.cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'apps.openyurt.io/v1beta2',
        kind: 'NodePool',
        metadata: { name: pool },
        spec: { type: 'Edge' },
      }),
    });
    const names = await kwok.createNodes(2, { namePrefix: pool, labels: { [LABEL_NODEPOOL]: pool } });
    if (opts.untaint)
      for (const n of names) await lab.cluster.kubectl(['taint', 'node', n, `${KWOK_TAINT.key}-`]);
  }
  await startControllerProcess(lab.cluster, 'edgefleet-controller', lab.cluster.kubeconfigPath, [
    '--resync=30',
  ]);
  const first = pools[0] as string;
  await until('the controller to report pool status', 60_000, async () => {
    const np = await lab.cluster.kubectlJson<{ status?: { readyNodeNum?: number } }>([
      'get',
      'nodepool',
      first,
    ]);
    return np.status?.readyNodeNum === 2;
  });
}
