/**
 * The join plan: a machine with kubelet installed but not joined becomes a node of the cluster
 * with the hub in front of its kubelet. kubelet TLS-bootstraps its own client certificate with a
 * bootstrap token (CSR, approved by the cluster), then the rest is the convert plan with the hub
 * bootstrapping its own certificate the same way. The token comes from the vault by reference and
 * is only ever written to the node (0600), never to the run's state file or log.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../ipc/errors.ts';
import type { Vault } from '../vault/vault.ts';
import { archOf, bundleFor } from './artifacts.ts';
import { type ConvertFacts, type ConvertOptions, convertPlan, run, writeFileScript } from './convert.ts';
import { restorePaths, TOUCH_FUNCTIONS } from './host-files.ts';
import { preflight, readKubeletCredentials, refuseOnFailures } from './preflight.ts';
import { shq } from './remote.ts';
import type { Plan, Step } from './types.ts';

export const BOOTSTRAP_KUBECONFIG = '/etc/kubernetes/bootstrap-kubelet.conf';
const KUBELET_WANTS = '/etc/systemd/system/multi-user.target.wants/kubelet.service';
const KUBELET_PKI = '/var/lib/kubelet/pki';

export interface JoinOptions extends Omit<ConvertOptions, 'hubBootstrap' | 'expectNodeName'> {
  vault: Pick<Vault, 'get'>;
  /** `vault:bootstrap-token/<id>`: the token `<id>.<secret>` kubelet and the hub bootstrap with. */
  bootstrapTokenRef: string;
  /** Node name to register (default: the host's hostname, as kubelet does). */
  nodeName?: string;
  /** API server URL as the node reaches it (default: the one the laptop uses). */
  apiServer?: string;
  /** How long kubelet may take to get its certificate and report Ready (default 120 s). */
  joinTimeoutMs?: number;
}

/** kubelet's bootstrap kubeconfig: server, cluster CA and the bootstrap token. */
export function bootstrapKubeconfig(server: string, caPem: string, token: string): string {
  return `${JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'bootstrap',
          cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
        },
      ],
      users: [{ name: 'kubelet-bootstrap', user: { token } }],
      contexts: [{ name: 'bootstrap', context: { cluster: 'bootstrap', user: 'kubelet-bootstrap' } }],
      'current-context': 'bootstrap',
    },
    null,
    2,
  )}\n`;
}

export async function joinPlan(opts: JoinOptions): Promise<Plan<ConvertFacts>> {
  const server = (opts.apiServer ?? opts.cluster.server).replace(/\/$/, '');
  const convert = await convertPlan({
    ...opts,
    hubBootstrap: { tokenRef: opts.bootstrapTokenRef, vault: opts.vault },
  });
  const joinTimeout = opts.joinTimeoutMs ?? 120_000;
  const byName = new Map(convert.steps.map((s) => [s.name, s]));
  const convertStep = (name: string): Step<ConvertFacts> => {
    const s = byName.get(name);
    if (!s) throw new Error(`convert plan has no step ${name}`);
    return s;
  };

  const steps: Step<ConvertFacts>[] = [
    {
      name: 'preflight',
      title: 'Check the machine (OS, arch, kubelet installed but not joined, name free, disk, clock, ports)',
      async apply(ctx) {
        const machine = (await ctx.remote.sh('uname -m', { log: false })).stdout.trim();
        const b = await bundleFor(opts.resourcesDir, archOf(machine), machine, opts.cacheDir);
        const need =
          Math.ceil((b.runtime.size + b.runtime.gz.size + b.agent.size + b.agent.gz.size) * 1.1) +
          16 * 2 ** 20;
        const facts = await preflight(ctx.remote, {
          cluster: opts.cluster,
          needOptBytes: need,
          join: { server, ...(opts.nodeName ? { nodeName: opts.nodeName } : {}) },
        });
        for (const c of facts.checks) ctx.log(`preflight ${c.status.toUpperCase()} ${c.name}: ${c.detail}`);
        refuseOnFailures(ctx.host, facts);
        ctx.facts.node = facts;
        ctx.facts.bundleVersion = b.version;
      },
    },
    convertStep('prepare'),
    {
      name: 'bootstrap-kubelet',
      title: 'Give kubelet the bootstrap token; it gets its certificate signed and registers the node',
      async check(ctx) {
        const path = ctx.facts.node?.kubeconfigPath;
        const name = ctx.facts.node?.joinNodeName;
        if (!path || !name) return false;
        const joined = (await ctx.remote.sh(`[ -f ${shq(path)} ]`, { log: false })).code === 0;
        if (!joined) return false;
        const n = await opts.cluster.getNode(name);
        if (n?.ready?.status !== 'True') return false;
        await learnIdentity(ctx, path);
        return true;
      },
      async apply(ctx) {
        const node = ctx.facts.node;
        const path = node?.kubeconfigPath;
        const name = node?.joinNodeName;
        if (!node || !path || !name)
          throw new AppError('provision/no-facts', `${ctx.host}: preflight facts missing; run again`);
        const token = await opts.vault.get(opts.bootstrapTokenRef);
        await run(
          ctx,
          'writing the bootstrap kubeconfig',
          [
            TOUCH_FUNCTIONS,
            // kubelet writes these itself; recorded so a rollback or revert removes them again.
            `ef_touch bootstrap-kubelet ${shq(path)}`,
            `ef_touch bootstrap-kubelet ${KUBELET_PKI}`,
            `ef_touch bootstrap-kubelet ${KUBELET_WANTS}`,
            writeFileScript(
              'bootstrap-kubelet',
              BOOTSTRAP_KUBECONFIG,
              bootstrapKubeconfig(server, opts.cluster.caPem, token),
              '0600',
            ),
            'systemctl daemon-reload',
            'systemctl enable kubelet.service 2>&1',
            'systemctl restart kubelet.service',
          ].join('\n'),
        );
        const deadline = Date.now() + joinTimeout;
        let last = 'kubelet has not written its kubeconfig yet';
        for (;;) {
          const joined = (await ctx.remote.sh(`[ -f ${shq(path)} ]`, { log: false })).code === 0;
          if (joined) {
            const n = await opts.cluster.getNode(name);
            last = n
              ? `Node ${name} Ready=${n.ready?.status ?? 'unknown'}`
              : `Node ${name} not registered yet`;
            if (n?.ready?.status === 'True') break;
          }
          ctx.progress(
            Math.min(95, ((Date.now() - (deadline - joinTimeout)) / joinTimeout) * 100),
            undefined,
            last,
          );
          if (Date.now() > deadline) {
            const j = await ctx.remote.sh('journalctl -u kubelet --no-pager -n 15 -o cat 2>&1 || true');
            throw new AppError(
              'provision/join-failed',
              `${ctx.host}: kubelet did not join within ${joinTimeout / 1000} s (${last}): ${j.stdout.trim().split('\n').slice(-3).join(' | ')}`,
              'Check that the bootstrap token is valid and not expired, and that the cluster approves node client CSRs (kubectl get csr).',
            );
          }
          await sleep(1_000);
        }
        await learnIdentity(ctx, path);
        ctx.log(`kubelet joined as node ${name} with a certificate signed by the cluster`);
      },
      async undo(ctx) {
        await ctx.remote.sh('systemctl stop kubelet.service 2>&1 || true');
        await restorePaths(ctx.remote, 'bootstrap-kubelet');
        await ctx.remote.sh('systemctl daemon-reload');
      },
    },
    ...convert.steps.filter((s) => s.name !== 'preflight' && s.name !== 'prepare'),
  ];
  return { name: 'join', steps, initialFacts: {} };
}

/** After kubelet bootstrapped: its identity (without the key) is what the convert steps build on. */
async function learnIdentity(
  ctx: { remote: import('./types.ts').RemoteShell; facts: ConvertFacts; host: string },
  path: string,
): Promise<void> {
  const creds = await readKubeletCredentials(ctx.remote, path);
  const node = ctx.facts.node;
  if (!node) throw new AppError('provision/no-facts', `${ctx.host}: preflight facts missing; run again`);
  node.kubelet = { ...creds, keyPem: '' };
}
