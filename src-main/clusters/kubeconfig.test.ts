import { describe, expect, it } from 'vitest';
import { describeContexts, parseKubeconfig, splitClusterId } from './kubeconfig.ts';

const GOOD = `apiVersion: v1
kind: Config
clusters:
- name: edge
  cluster: { server: "https://127.0.0.1:6443", certificate-authority: ca.crt }
users:
- name: admin
  user: { token: abc }
- name: plugin
  user:
    exec: { apiVersion: client.authentication.k8s.io/v1, command: my-plugin }
contexts:
- name: edge-admin
  context: { cluster: edge, user: admin, namespace: kube-system }
- name: edge/plugin
  context: { cluster: edge, user: plugin }
current-context: edge-admin
`;

describe('parseKubeconfig', () => {
  it('reads contexts, auth kinds, and resolves relative file paths against the file', () => {
    const kc = parseKubeconfig(GOOD, '/home/me/kube/site.yaml');
    expect(kc.getCluster('edge')?.caFile).toBe('/home/me/kube/ca.crt');
    const ctx = describeContexts(kc, 'env-1');
    expect(ctx).toEqual([
      expect.objectContaining({
        clusterId: 'env-1/edge-admin',
        server: 'https://127.0.0.1:6443',
        auth: 'token',
        namespace: 'kube-system',
      }),
      expect.objectContaining({ clusterId: 'env-1/edge/plugin', auth: 'exec' }),
    ]);
    expect(splitClusterId('env-1/edge/plugin')).toEqual({ sourceId: 'env-1', context: 'edge/plugin' });
  });

  const bad: [string, string, RegExp][] = [
    ['empty file', '', /not valid YAML/],
    ['broken YAML', 'clusters: [', /not valid YAML.*\(1:/],
    ['a list at top level', '- a\n- b\n', /top level must be a mapping/],
    ['clusters not a list', 'clusters: 5\n', /clusters must be a list/],
    ['nameless cluster', 'clusters:\n- cluster: {server: https://x}\n', /clusters\[0\]\.name is missing/],
    ['no server', 'clusters:\n- name: c\n  cluster: {}\n', /cluster "c" has no valid server URL/],
    [
      'dangling user',
      `clusters:\n- name: c\n  cluster: {server: "https://x"}\ncontexts:\n- name: k\n  context: {cluster: c, user: ghost}\n`,
      /context "k" refers to user "ghost"/,
    ],
    ['duplicate users', 'users:\n- name: u\n  user: {}\n- name: u\n  user: {}\n', /two entries named "u"/],
    ['wrong kind', 'kind: Pod\n', /kind is "Pod"/],
  ];
  for (const [what, text, problem] of bad) {
    it(`names the file and the problem: ${what}`, () => {
      try {
        parseKubeconfig(text, '/tmp/broken.yaml');
        expect.unreachable('should have thrown');
      } catch (e) {
        const err = e as { code: string; message: string; fix?: string };
        expect(err.code).toBe('kubeconfig/invalid');
        expect(err.message).toContain('/tmp/broken.yaml');
        expect(err.message).toMatch(problem);
        expect(err.fix).toBeTruthy();
      }
    });
  }
});
