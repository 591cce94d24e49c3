/**
 * A kubeconfig whose user logs in through an exec plugin (as SSO users' kubeconfigs do): a small
 * script that prints an ExecCredential and notes each call, so a test can show the app ran it.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ExecPluginKubeconfig {
  /** The kubeconfig file. */
  path: string;
  /** One "called" line per plugin run. */
  calls: string;
}

export async function writeExecPluginKubeconfig(o: {
  dir: string;
  server: string;
  caPem: Buffer;
  /** ExecCredential status: { token } or { clientCertificateData, clientKeyData }. */
  status: Record<string, string>;
  context?: string;
}): Promise<ExecPluginKubeconfig> {
  const context = o.context ?? 'sso';
  const plugin = join(o.dir, `${context}-plugin`);
  const calls = join(o.dir, `${context}-plugin-calls.log`);
  const credential = JSON.stringify({
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status: o.status,
  });
  const credentialFile = join(o.dir, `${context}-credential.json`);
  await writeFile(credentialFile, credential, { mode: 0o600 });
  await writeFile(plugin, `#!/bin/sh\necho called >> '${calls}'\ncat '${credentialFile}'\n`);
  await chmod(plugin, 0o755);
  const path = join(o.dir, `${context}.kubeconfig`);
  await writeFile(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'lab',
          cluster: { server: o.server, 'certificate-authority-data': o.caPem.toString('base64') },
        },
      ],
      users: [
        {
          name: context,
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: plugin,
              interactiveMode: 'Never',
            },
          },
        },
      ],
      contexts: [{ name: context, context: { cluster: 'lab', user: context } }],
      'current-context': context,
    }),
    { mode: 0o600 },
  );
  return { path, calls };
}
