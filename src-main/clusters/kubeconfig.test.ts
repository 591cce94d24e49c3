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
    // Found by the bad-input soak: client-node took these and the app sent a list as a bearer token.
    [
      'token as a list',
      'users:\n- name: u\n  user: {token: [abc]}\n',
      /users\[0\] \(u\)\.user\.token must be a string, got a list/,
    ],
    ['exec as a string', 'users:\n- name: u\n  user: {exec: login}\n', /user\.exec must be a mapping/],
    ['exec without command', 'users:\n- name: u\n  user: {exec: {args: [x]}}\n', /exec\.command/],
    ['exec env as a string', 'users:\n- name: u\n  user: {exec: {command: x, env: y}}\n', /exec\.env/],
    [
      'auth-provider as a string',
      'users:\n- name: u\n  user: {auth-provider: gcp}\n',
      /auth-provider must be a mapping/,
    ],
    [
      'insecure-skip-tls-verify as a string',
      'clusters:\n- name: c\n  cluster: {server: "https://x", insecure-skip-tls-verify: "yes"}\n',
      /insecure-skip-tls-verify must be true or false/,
    ],
  ];

  it('never shows a password or token it was given in an error (found by the bad-input soak)', () => {
    const texts = [
      'clusters:\n- name: c\n  cluster: {server: "https://admin:S3CRETpw@198.18.0.1 x"}\n',
      'clusters:\n- name: c\n  cluster: {server: [S3CRETpw]}\n',
      'users:\n- name: u\n  user: {password: [S3CRETpw]}\n',
      'users:\n- name: u\n  user: {token: {t: S3CRETpw}}\n',
      // A damaged file: the token read as a YAML alias, which the parser's message quoted.
      'users:\n- name: u\n  user:\n    token: *aS3CRETpw\n',
      'users:\n- name: u\n  user:\n    token: !<S3CRETpw> x\n',
    ];
    for (const text of texts) {
      let message = '';
      try {
        parseKubeconfig(text, '/tmp/broken.yaml');
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message, text).toMatch(/malformed/);
      expect(message, text).not.toContain('S3CRET');
    }
  });
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
