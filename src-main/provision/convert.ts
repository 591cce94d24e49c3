/**
 * The convert plan: an existing, joined node gets the EdgeFleet hub between its kubelet and the
 * cluster. Every step is idempotent (check) and records each path it touches on the node before
 * changing it, so rollback and revert put back exactly what was there.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HUB_DEFAULTS, type HubConfig } from '../../src-agent/api/hub-config.ts';
import {
  ANNOTATION_AUTONOMY_DURATION,
  LABEL_IS_EDGE_WORKER,
  LABEL_NODEPOOL,
} from '../../src-agent/api/labels.ts';
import { AppError } from '../ipc/errors.ts';
import type { Vault } from '../vault/vault.ts';
import { archOf, type Bundle, bundleFor } from './artifacts.ts';
import type { ClusterAccess } from './cluster-access.ts';
import { BACKUP_DIR, restorePaths, TOUCH_FUNCTIONS } from './host-files.ts';
import { type NodeFacts, preflight, readKubeletCredentials, refuseOnFailures } from './preflight.ts';
import { shq } from './remote.ts';
import { RefusedError } from './runner.ts';
import type { Plan, RemoteShell, Step, StepContext } from './types.ts';
import { isPresent, STAGING_DIR, uploadArtifact } from './upload.ts';

export const HUB_URL = `http://${HUB_DEFAULTS.proxyListen}`;
export const HUB_ADMIN_URL = `http://${HUB_DEFAULTS.adminListen}`;
export const KUBELET_DROPIN = '/etc/systemd/system/kubelet.service.d/90-edgefleet-hub.conf';
export const NODE_META_BACKUP = `${BACKUP_DIR}/node-meta.json`;
const PKI = '/var/lib/edgefleet/pki';

export interface ConvertOptions {
  cluster: ClusterAccess;
  /** The app's resources/ (agent bundle, Node runtimes, systemd units). */
  resourcesDir: string;
  /** Where compressed artifacts are cached on the laptop. */
  cacheDir: string;
  /** NodePool to put the node in. */
  pool?: string;
  /** `node.openyurt.io/autonomy-duration` ("0" = keep pods forever while offline). */
  autonomyDuration?: string;
  expectNodeName?: string;
  /** How long verify waits for hub ready / node Ready through the hub (default 120 s). */
  verifyTimeoutMs?: number;
  /**
   * The hub gets its own client certificate from the cluster (bootstrap token → CSR → signed)
   * instead of a copy of kubelet's. The token is read from the vault when it is written to the node.
   */
  hubBootstrap?: { tokenRef: string; vault: Pick<Vault, 'get'> };
}

/** Where the hub's bootstrap token lives on the node (0600, root). */
export const HUB_BOOTSTRAP_TOKEN = '/var/lib/edgefleet/pki/bootstrap-token';

export interface ConvertFacts {
  node?: NodeFacts;
  bundleVersion?: string;
  /** Set when kubelet was restarted onto the hub: Ready must be re-reported after this. */
  redirectedAt?: number;
}

type Ctx = StepContext<ConvertFacts>;

export async function run<F>(
  ctx: StepContext<F>,
  what: string,
  script: string,
  timeoutMs?: number,
): Promise<string> {
  const r = await ctx.remote.sh(script, timeoutMs ? { timeoutMs } : {});
  if (r.code !== 0) {
    const full = /No space left on device/i.test(r.stderr);
    throw new AppError(
      full ? 'provision/disk-full' : 'provision/step-failed',
      `${ctx.host}: ${what} failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ') || 'no error output'}`,
      full ? 'Free disk space on the node and run again.' : 'See the run log for the full output.',
    );
  }
  return r.stdout;
}

export function writeFileScript(step: string, path: string, content: string | Buffer, mode: string): string {
  const b64 = Buffer.from(content).toString('base64');
  return `ef_touch ${step} ${shq(path)}
mkdir -p ${shq(path.replace(/\/[^/]+$/, ''))}
printf '%s' ${shq(b64)} | base64 -d > ${shq(`${path}.edgefleet-new`)}
chmod ${mode} ${shq(`${path}.edgefleet-new`)}
mv -f ${shq(`${path}.edgefleet-new`)} ${shq(path)}
`;
}

function nodeOf(ctx: Ctx): NodeFacts & { kubelet: NonNullable<NodeFacts['kubelet']> } {
  const n = ctx.facts.node;
  if (!n?.kubelet)
    throw new AppError('provision/no-facts', `${ctx.host}: preflight facts missing; run again`);
  return n as NodeFacts & { kubelet: NonNullable<NodeFacts['kubelet']> };
}

export function hubConfigFor(
  node: NodeFacts & { kubelet: NonNullable<NodeFacts['kubelet']> },
  opts: { bootstrapTokenFile?: string } = {},
): HubConfig {
  return {
    ...(opts.bootstrapTokenFile
      ? {
          bootstrap: {
            tokenFile: opts.bootstrapTokenFile,
            signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
          },
        }
      : {}),
    nodeName: node.kubelet.nodeName,
    servers: [node.kubelet.server.replace(/\/$/, '')],
    strategy: HUB_DEFAULTS.strategy,
    tls: { certFile: `${PKI}/node.crt`, keyFile: `${PKI}/node.key`, caFile: `${PKI}/ca.crt` },
    proxyListen: HUB_DEFAULTS.proxyListen,
    adminListen: HUB_DEFAULTS.adminListen,
    // Pods' in-cluster config reaches the API through the hub here (the unit puts this link-local
    // address on a dummy interface); the hub points kubelet's `default/kubernetes` at it only once
    // it serves there.
    secureProxyListen: `${HUB_DEFAULTS.masterService.host}:${HUB_DEFAULTS.masterService.port}`,
    cacheDir: HUB_DEFAULTS.cacheDir,
    journalDir: HUB_DEFAULTS.journalDir,
    cacheKeyFile: HUB_DEFAULTS.cacheKeyFile,
    cacheAgents: [],
    heartbeatIntervalSeconds: HUB_DEFAULTS.heartbeatIntervalSeconds,
    kubeletSilenceSeconds: HUB_DEFAULTS.kubeletSilenceSeconds,
    leaseDurationSeconds: HUB_DEFAULTS.leaseDurationSeconds,
    journalMaxEntries: HUB_DEFAULTS.journalMaxEntries,
  };
}

/** kubelet's kubeconfig after conversion: plain HTTP to the hub on loopback; the hub holds the identity. */
export function redirectedKubeconfig(): string {
  return `${JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'edgefleet-hub', cluster: { server: HUB_URL } }],
      users: [{ name: 'kubelet', user: {} }],
      contexts: [{ name: 'edgefleet-hub', context: { cluster: 'edgefleet-hub', user: 'kubelet' } }],
      'current-context': 'edgefleet-hub',
    },
    null,
    2,
  )}\n`;
}

const KUBELET_DROPIN_TEXT = `# Written by EdgeFleet: kubelet reaches the cluster through the hub (its kubeconfig points at ${HUB_URL}).
[Unit]
Wants=edgefleet-hub.service
After=edgefleet-hub.service
`;

export async function curlOnNode(
  remote: RemoteShell,
  url: string,
): Promise<{ status: number; body: string }> {
  const r = await remote.sh(`curl -s --max-time 5 -w '\\n%{http_code}' ${shq(url)} || true`, { log: false });
  const lines = r.stdout.trimEnd().split('\n');
  const status = Number(lines.pop() ?? '0');
  return { status, body: lines.join('\n') };
}

/** Sum of the hub's request counter for one component (e.g. kubelet), from /metrics on the node. */
export async function hubRequestsBy(remote: RemoteShell, component: string): Promise<number> {
  return hubMetric(remote, 'edgefleet_hub_requests_total', `component="${component}"`);
}

/** The sum of one hub metric's samples on the node (those whose labels include `label`, if given). */
async function hubMetric(remote: RemoteShell, name: string, label?: string): Promise<number> {
  const m = await curlOnNode(remote, `${HUB_ADMIN_URL}/metrics`);
  let sum = 0;
  for (const line of m.body.split('\n')) {
    const sample = line.startsWith(`${name}{`) || line.startsWith(`${name} `);
    if (sample && (!label || line.includes(label))) sum += Number(line.split(' ').pop());
  }
  return sum;
}

/** The hub holds a copy of kubelet's identity (convert of a joined node). */
async function copiedKubeletIdentity(
  ctx: Ctx,
  node: NodeFacts & { kubelet: NonNullable<NodeFacts['kubelet']> },
): Promise<string[]> {
  // Read again here rather than kept in the state file: the key is a secret.
  const src =
    (await ctx.remote.sh('systemctl is-active edgefleet-hub', { log: false })).stdout.trim() === 'active'
      ? `${BACKUP_DIR}/files${node.kubelet.kubeconfigPath}`
      : node.kubelet.kubeconfigPath;
  const k = await readKubeletCredentials(ctx.remote, src);
  return [
    writeFileScript('install', `${PKI}/ca.crt`, k.caPem, '0644'),
    writeFileScript('install', `${PKI}/node.crt`, k.certPem, '0644'),
    writeFileScript('install', `${PKI}/node.key`, k.keyPem, '0600'),
  ];
}

export async function convertPlan(opts: ConvertOptions): Promise<Plan<ConvertFacts>> {
  const unitText = async (name: string, version: string) =>
    (await readFile(join(opts.resourcesDir, 'systemd', name), 'utf8')).replaceAll('@VERSION@', version);
  let bundle: Bundle | undefined;
  const getBundle = async (ctx: Ctx): Promise<Bundle> => {
    const n = ctx.facts.node;
    bundle ??= await bundleFor(opts.resourcesDir, n?.arch, n?.machine ?? 'unknown', opts.cacheDir);
    return bundle;
  };
  const verifyTimeout = opts.verifyTimeoutMs ?? 120_000;

  const steps: Step<ConvertFacts>[] = [
    {
      name: 'preflight',
      title: 'Check the node (OS, arch, kubelet, disk, clock, ports, cluster identity)',
      async apply(ctx) {
        // The bundle's size decides the disk check; the arch decides which bundle (or refusal).
        const probe = await ctx.remote.sh('uname -m', { log: false });
        const machine = probe.stdout.trim();
        const b = await bundleFor(opts.resourcesDir, archOf(machine), machine, opts.cacheDir);
        bundle = b;
        const need =
          Math.ceil((b.runtime.size + b.runtime.gz.size + b.agent.size + b.agent.gz.size) * 1.1) +
          16 * 2 ** 20;
        const facts = await preflight(ctx.remote, {
          cluster: opts.cluster,
          needOptBytes: need,
          ...(opts.expectNodeName ? { expectNodeName: opts.expectNodeName } : {}),
        });
        for (const c of facts.checks) ctx.log(`preflight ${c.status.toUpperCase()} ${c.name}: ${c.detail}`);
        refuseOnFailures(ctx.host, facts);
        if (!facts.kubelet)
          throw new RefusedError(
            'refused/preflight',
            `${ctx.host}: could not read the kubelet's node identity`,
          );
        ctx.facts.node = facts;
        ctx.facts.bundleVersion = b.version;
      },
    },
    {
      name: 'prepare',
      title: 'Create EdgeFleet directories (recorded for revert)',
      async apply(ctx) {
        await run(
          ctx,
          'preparing directories',
          `${TOUCH_FUNCTIONS}
ef_init prepare
ef_touch prepare /opt/edgefleet
ef_touch prepare /etc/edgefleet
mkdir -p -m 0755 /opt/edgefleet/bin /opt/edgefleet/agent ${STAGING_DIR}
mkdir -p -m 0755 /etc/edgefleet
for d in cache pki journal; do mkdir -p /var/lib/edgefleet/$d; chmod 0700 /var/lib/edgefleet/$d; done`,
        );
      },
      async undo(ctx) {
        await restorePaths(ctx.remote, 'prepare');
      },
    },
    {
      name: 'upload-runtime',
      title: 'Send the Node runtime (checksummed, resumable)',
      async check(ctx) {
        return isPresent(ctx.remote, (await getBundle(ctx)).runtime);
      },
      async apply(ctx) {
        await uploadArtifact(ctx, (await getBundle(ctx)).runtime);
      },
    },
    {
      name: 'upload-agent',
      title: 'Send the EdgeFleet agent bundle (checksummed, resumable)',
      async check(ctx) {
        return isPresent(ctx.remote, (await getBundle(ctx)).agent);
      },
      async apply(ctx) {
        await uploadArtifact(ctx, (await getBundle(ctx)).agent);
      },
    },
    {
      name: 'install',
      title: 'Write hub config, node identity and systemd units',
      async apply(ctx) {
        const node = nodeOf(ctx);
        const version = ctx.facts.bundleVersion ?? (await getBundle(ctx)).version;
        const hubFiles = opts.hubBootstrap
          ? // The hub asks the cluster for its own certificate with the token (from the vault, never in state files).
            [
              writeFileScript(
                'install',
                HUB_BOOTSTRAP_TOKEN,
                `${await opts.hubBootstrap.vault.get(opts.hubBootstrap.tokenRef)}\n`,
                '0600',
              ),
              writeFileScript('install', `${PKI}/ca.crt`, opts.cluster.caPem, '0644'),
            ]
          : await copiedKubeletIdentity(ctx, node);
        const script = [
          TOUCH_FUNCTIONS,
          writeFileScript('install', '/opt/edgefleet/VERSION', `${version}\n`, '0644'),
          writeFileScript(
            'install',
            '/etc/edgefleet/hub.yaml',
            `${JSON.stringify(hubConfigFor(node, opts.hubBootstrap ? { bootstrapTokenFile: HUB_BOOTSTRAP_TOKEN } : {}), null, 2)}\n`,
            '0644',
          ),
          ...hubFiles,
          writeFileScript(
            'install',
            '/etc/systemd/system/edgefleet-hub.service',
            await unitText('edgefleet-hub.service', version),
            '0644',
          ),
          'systemctl daemon-reload',
        ].join('\n');
        await run(ctx, 'installing files', script);
      },
      async undo(ctx) {
        await restorePaths(ctx.remote, 'install');
        await ctx.remote.sh('systemctl daemon-reload');
      },
    },
    {
      name: 'start-hub',
      title: 'Start the hub under systemd and wait until it is healthy',
      async check(ctx) {
        const r = await ctx.remote.sh(
          'systemctl is-enabled edgefleet-hub; systemctl is-active edgefleet-hub',
          { log: false },
        );
        return r.stdout.split('\n')[0] === 'enabled' && r.stdout.split('\n')[1] === 'active';
      },
      async apply(ctx) {
        await run(
          ctx,
          'enabling the hub',
          `${TOUCH_FUNCTIONS}
ef_touch start-hub /etc/systemd/system/multi-user.target.wants/edgefleet-hub.service
systemctl daemon-reload
systemctl enable edgefleet-hub.service 2>&1
systemctl restart edgefleet-hub.service`,
        );
        const deadline = Date.now() + 30_000;
        for (;;) {
          const h = await curlOnNode(ctx.remote, `${HUB_ADMIN_URL}/v1/healthz`);
          if (h.status === 200) break;
          if (Date.now() > deadline) {
            const st = await ctx.remote.sh(
              'systemctl status --no-pager -n 20 edgefleet-hub 2>&1 || true; journalctl -u edgefleet-hub --no-pager -n 20 2>&1 || true',
            );
            throw new AppError(
              'provision/hub-not-healthy',
              `${ctx.host}: the hub did not become healthy within 30 s: ${st.stdout.trim().split('\n').slice(-4).join(' | ')}`,
              "See the run log for the hub's journal.",
            );
          }
          await sleep(500);
        }
        ctx.log('hub healthy on 127.0.0.1:10267');
      },
      async undo(ctx) {
        await ctx.remote.sh('systemctl disable --now edgefleet-hub.service 2>&1 || true');
        await restorePaths(ctx.remote, 'start-hub');
        await ctx.remote.sh('systemctl daemon-reload');
      },
    },
    {
      name: 'redirect-kubelet',
      title: 'Point kubelet at the hub (previous kubeconfig kept for revert)',
      async check(ctx) {
        const node = nodeOf(ctx);
        const r = await ctx.remote.sh(
          `grep -q ${shq(HUB_URL)} ${shq(node.kubelet.kubeconfigPath)} && [ -f ${KUBELET_DROPIN} ]`,
          { log: false },
        );
        return r.code === 0;
      },
      async apply(ctx) {
        const node = nodeOf(ctx);
        await run(
          ctx,
          'redirecting kubelet',
          [
            TOUCH_FUNCTIONS,
            writeFileScript('redirect-kubelet', node.kubelet.kubeconfigPath, redirectedKubeconfig(), '0600'),
            writeFileScript('redirect-kubelet', KUBELET_DROPIN, KUBELET_DROPIN_TEXT, '0644'),
            'systemctl daemon-reload',
            'systemctl restart kubelet.service',
          ].join('\n'),
        );
        ctx.facts.redirectedAt = Date.now();
      },
      async undo(ctx) {
        await restorePaths(ctx.remote, 'redirect-kubelet');
        await ctx.remote.sh('systemctl daemon-reload; systemctl restart kubelet.service || true');
      },
    },
    {
      name: 'join-pool',
      title: opts.pool ? `Label the node into pool ${opts.pool}` : 'Mark the node as an edge worker',
      async check(ctx) {
        const n = await opts.cluster.getNode(nodeOf(ctx).kubelet.nodeName);
        return (
          !!n &&
          n.labels[LABEL_IS_EDGE_WORKER] === 'true' &&
          (!opts.pool || n.labels[LABEL_NODEPOOL] === opts.pool) &&
          (!opts.autonomyDuration || n.annotations[ANNOTATION_AUTONOMY_DURATION] === opts.autonomyDuration)
        );
      },
      async apply(ctx) {
        const name = nodeOf(ctx).kubelet.nodeName;
        const n = await opts.cluster.getNode(name);
        if (!n)
          throw new AppError(
            'provision/node-missing',
            `Node ${name} is not registered in the cluster`,
            'Check that kubelet runs on the node.',
          );
        const labels: Record<string, string> = {
          [LABEL_IS_EDGE_WORKER]: 'true',
          ...(opts.pool ? { [LABEL_NODEPOOL]: opts.pool } : {}),
        };
        const annotations: Record<string, string> = opts.autonomyDuration
          ? { [ANNOTATION_AUTONOMY_DURATION]: opts.autonomyDuration }
          : {};
        // What was there before goes on the node, so revert restores it from any laptop.
        const before = {
          labels: Object.fromEntries(Object.keys(labels).map((k) => [k, n.labels[k] ?? null])),
          annotations: Object.fromEntries(Object.keys(annotations).map((k) => [k, n.annotations[k] ?? null])),
        };
        await run(
          ctx,
          'recording node metadata',
          [
            TOUCH_FUNCTIONS,
            writeFileScript('join-pool', NODE_META_BACKUP, JSON.stringify({ node: name, ...before }), '0600'),
          ].join('\n'),
        );
        await opts.cluster.patchNodeMetadata(name, { labels, annotations });
        ctx.log(
          `node ${name} labelled ${Object.entries(labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')}`,
        );
      },
      async undo(ctx) {
        await restoreNodeMeta(ctx.remote, opts.cluster);
        await restorePaths(ctx.remote, 'join-pool');
      },
    },
    {
      name: 'verify',
      title: 'Verify: hub ready, kubelet going through it, node Ready',
      async apply(ctx) {
        const node = nodeOf(ctx);
        const deadline = Date.now() + verifyTimeout;
        const since = ctx.facts.redirectedAt ?? 0;
        let last = '';
        for (;;) {
          const ready = await curlOnNode(ctx.remote, `${HUB_ADMIN_URL}/v1/readyz`);
          const viaHub = await hubRequestsBy(ctx.remote, 'kubelet');
          const n = await opts.cluster.getNode(node.kubelet.nodeName);
          const hb = Date.parse(n?.ready?.lastHeartbeatTime ?? '') || 0;
          // Heartbeat times have 1 s resolution and the node's clock may lag a little.
          const fresh = n?.ready?.status === 'True' && hb >= since - 5_000;
          last = `hub readyz ${ready.status}, ${viaHub} kubelet requests through the hub, node Ready=${n?.ready?.status ?? 'unknown'}${fresh ? '' : ' (no heartbeat since the redirect yet)'}`;
          ctx.progress(
            Math.min(95, ((Date.now() - (deadline - verifyTimeout)) / verifyTimeout) * 100),
            undefined,
            last,
          );
          if (ready.status === 200 && viaHub > 0 && fresh) break;
          if (Date.now() > deadline)
            throw new AppError(
              'provision/verify-failed',
              `${ctx.host}: not verified within ${verifyTimeout / 1000} s: ${last}`,
              'See the hub journal on the node (journalctl -u edgefleet-hub).',
            );
          await sleep(1_000);
        }
        ctx.log(`verified: ${last}`);
        // Not a failure: pods still reach the cloud API directly until the hub's certificate for
        // 169.254.2.1 is approved; say how to get there.
        const master = HUB_DEFAULTS.masterService;
        if ((await hubMetric(ctx.remote, 'edgefleet_hub_master_service_served')) === 1)
          ctx.log(`pods on this node reach the API through the hub at ${master.host}:${master.port}`);
        else
          ctx.log(
            `note: pods on this node reach the API directly (not through the hub, so not while offline) until the hub serves ${master.host}:${master.port}; it waits for its serving certificate: deploy the EdgeFleet controller (resources/manifests/controller.yaml; its csrapprover approves it) or approve the kubelet-serving CSR of system:node:${node.kubelet.nodeName} (kubectl get csr)`,
          );
      },
    },
  ];
  return { name: 'convert', steps, initialFacts: {} };
}

/** Puts the node's pool label / autonomy annotation back to what they were before conversion. */
export async function restoreNodeMeta(remote: RemoteShell, cluster: ClusterAccess): Promise<void> {
  const r = await remote.sh(`cat ${NODE_META_BACKUP} 2>/dev/null || true`, { log: false });
  if (!r.stdout.trim()) return;
  const before = JSON.parse(r.stdout) as {
    node: string;
    labels: Record<string, string | null>;
    annotations: Record<string, string | null>;
  };
  if (await cluster.getNode(before.node))
    await cluster.patchNodeMetadata(before.node, { labels: before.labels, annotations: before.annotations });
}
