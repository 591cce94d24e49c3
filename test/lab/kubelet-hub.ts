/**
 * The real-kubelet node behind a hub in its network namespace (as on a converted node): the node,
 * its link, the hub's config on the node's "disk", starting the hub from the TypeScript sources and
 * reading its metrics on the node's loopback, and tearing it all down.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HubConfig } from '../../src-agent/api/hub-config.ts';
import { KubeletNode, nodeClientCertRequest } from './kubelet.ts';
import type { Lab } from './lab.ts';
import { parseMetricsText } from './metrics-support.ts';
import type { HostLink } from './net.ts';
import { until } from './until.ts';

const REPO = join(import.meta.dirname, '../..');
export const HUB_URL = 'http://127.0.0.1:10261';
export const HUB_ADMIN = 'http://127.0.0.1:10267';

/** Starts kubelet (pointed at the hub, not yet Ready) on host `index` and writes the hub's config. */
export async function startKubeletBehindHub(
  lab: Lab,
  name: string,
  index: number,
  log: (line: string) => void,
  hub: Partial<HubConfig> = {},
  kubelet: { verbosity?: number } = {},
): Promise<{ node: KubeletNode; link: HostLink; hubConfigPath: string }> {
  const cluster = lab.cluster;
  const link = await lab.net.addHost(name, index);
  const req = nodeClientCertRequest(name);
  const cert = await cluster.pki.issueClientCert(`node-${name}`, req.commonName, req.organizations);
  const node = await KubeletNode.start({
    labDir: lab.dir,
    name,
    link,
    apiServerUrl: cluster.apiServerUrl,
    kubeletServer: HUB_URL,
    caCertPath: cluster.caCertPath,
    credentials: { clientCert: cert },
    kubeletBin: cluster.binaries.kubelet,
    kubectlBin: cluster.binaries.kubectl,
    waitReady: false,
    verbosity: kubelet.verbosity,
    log,
  });
  // The hub's files live on the node's "disk": they survive its reboot like /var/lib/edgefleet.
  const hubDir = join(node.nodeDir, 'hub');
  await mkdir(join(hubDir, 'pki'), { recursive: true, mode: 0o700 });
  const config: HubConfig = {
    nodeName: name,
    servers: [cluster.apiServerUrl],
    strategy: 'priority',
    tls: { certFile: cert.cert, keyFile: cert.key, caFile: cluster.caCertPath },
    proxyListen: '127.0.0.1:10261',
    adminListen: '127.0.0.1:10267',
    cacheDir: join(hubDir, 'cache'),
    journalDir: join(hubDir, 'journal'),
    cacheKeyFile: join(hubDir, 'pki', 'cache.key'),
    cacheAgents: [],
    heartbeatIntervalSeconds: 5,
    kubeletSilenceSeconds: 40,
    leaseDurationSeconds: 40,
    journalMaxEntries: 5000,
    // The node identity may not read kube-system ConfigMaps or NodePools (Node authorizer): no central config.
    centralConfig: false,
    ...hub,
  };
  const hubConfigPath = join(hubDir, 'hub.json');
  await writeFile(hubConfigPath, JSON.stringify(config, null, 2));
  return { node, link, hubConfigPath };
}

/** Starts the hub in the node (TypeScript sources) and waits until it answers. */
export async function startHubOn(node: KubeletNode, hubConfigPath: string): Promise<void> {
  await node.spawnInside('hub', process.execPath, [
    join(REPO, 'src-agent/main.ts'),
    'hub',
    '--config',
    hubConfigPath,
  ]);
  await waitForHubOn(node);
}

/** Waits until the hub on the node answers on its admin port and its proxy (after a start or a reboot). */
export async function waitForHubOn(node: KubeletNode): Promise<void> {
  await until('the hub to answer /v1/healthz on the node', 60_000, async () =>
    (await node.inside('curl', ['-sS', '--max-time', '3', `${HUB_ADMIN}/v1/healthz`]).catch(() => ''))
      ? true
      : undefined,
  );
  await until('the hub proxy to answer on the node', 60_000, async () =>
    (await node
      .inside('curl', [
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--max-time',
        '3',
        `${HUB_URL}/version`,
      ])
      .catch(() => '000')) !== '000'
      ? true
      : undefined,
  );
}

/** The hub's metrics (this hub process only: counters restart with it), read on the node's loopback. */
export async function hubMetricsOn(node: KubeletNode): Promise<Map<string, number>> {
  return parseMetricsText(await node.inside('curl', ['-sS', '--max-time', '5', `${HUB_ADMIN}/metrics`]));
}

/** Restores the node's link, stops the node, then the lab; every step runs and all failures are reported. */
export async function stopKubeletBehindHub(
  lab: Lab | undefined,
  node: KubeletNode | undefined,
  link: HostLink | undefined,
  log: (line: string) => void,
): Promise<void> {
  const errors: string[] = [];
  try {
    await link?.restoreLink().catch((e: Error) => errors.push(`restore link: ${e.message}`));
    await node?.stop(log).catch((e: Error) => errors.push(`node: ${e.message}`));
  } finally {
    await lab?.stop().catch((e: Error) => errors.push(`lab: ${e.message}`));
  }
  if (errors.length) throw new Error(errors.join('; '));
}
