/**
 * The revert plan: stop EdgeFleet on the node and put back every path the conversion touched,
 * byte for byte (from the manifest and backups on the node), then give kubelet its old kubeconfig.
 * A machine EdgeFleet joined (its manifest has the join's `bootstrap-kubelet` records) had no
 * kubelet identity before: reverting it un-joins it — its pods drained, kubelet stopped as it was,
 * its certificate and kubeconfig removed with the rest, and its Node object deleted from the cluster.
 */
import { X509Certificate } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { HUB_DEFAULTS } from '../../src-agent/api/hub-config.ts';
import { AppError } from '../ipc/errors.ts';
import type { ClusterAccess } from './cluster-access.ts';
import { restoreNodeMeta } from './convert.ts';
import { MANIFEST, restorePaths } from './host-files.ts';
import type { Plan } from './types.ts';

export interface RevertFacts {
  hadManifest?: boolean;
  kubeletWasActive?: boolean;
  /** Set when EdgeFleet joined this machine: the node name it registered as. */
  joinedNode?: string;
}

/** kubelet's rotated client certificate (and key), written by its TLS bootstrap. */
const KUBELET_CLIENT_PEM = '/var/lib/kubelet/pki/kubelet-client-current.pem';

/** The node name in kubelet's client certificate (CN system:node:<name>), if it has one. */
function nodeNameOf(pem: string): string | undefined {
  const block = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(pem)?.[0];
  if (!block) return undefined;
  const cn = /CN=([^\n,]+)/.exec(new X509Certificate(block).subject)?.[1] ?? '';
  return cn.startsWith('system:node:') ? cn.slice('system:node:'.length) : undefined;
}

export function revertPlan(opts: { cluster: ClusterAccess }): Plan<RevertFacts> {
  return {
    name: 'revert',
    initialFacts: {},
    steps: [
      {
        name: 'inspect',
        title: 'Read what EdgeFleet changed on the node',
        async apply(ctx) {
          const r = await ctx.remote.sh(
            `[ -f ${MANIFEST} ] && echo manifest=yes || echo manifest=no; echo kubelet=$(systemctl is-active kubelet 2>/dev/null || true)`,
            { log: false },
          );
          ctx.facts.hadManifest = r.stdout.includes('manifest=yes');
          ctx.facts.kubeletWasActive = r.stdout.includes('kubelet=active');
          ctx.log(
            ctx.facts.hadManifest ? 'EdgeFleet manifest found' : 'no EdgeFleet manifest: nothing to revert',
          );
          if (!ctx.facts.hadManifest) return;
          const joined = await ctx.remote.sh(`grep -q '^A bootstrap-kubelet ' ${MANIFEST}`, { log: false });
          if (joined.code !== 0) return;
          const pem = await ctx.remote.sh(`cat ${KUBELET_CLIENT_PEM} 2>/dev/null || true`, { log: false });
          const name = nodeNameOf(pem.stdout);
          if (!name)
            throw new AppError(
              'provision/step-failed',
              `${ctx.host}: EdgeFleet joined this machine, but ${KUBELET_CLIENT_PEM} holds no node certificate to tell which node it is`,
              'Delete its Node object by hand (kubectl delete node <name>), then revert again.',
            );
          ctx.facts.joinedNode = name;
          ctx.log(`EdgeFleet joined this machine as node ${name}: reverting un-joins it`);
        },
      },
      {
        name: 'restore-node-metadata',
        title: "Restore the node's pool label and autonomy annotation",
        async apply(ctx) {
          // A joined node leaves the cluster below; its Node object goes with its metadata.
          if (ctx.facts.hadManifest && !ctx.facts.joinedNode) await restoreNodeMeta(ctx.remote, opts.cluster);
        },
      },
      {
        name: 'drain',
        title: 'A machine EdgeFleet joined leaves the cluster: drain its pods first',
        async apply(ctx) {
          // Before the services stop, so kubelet still ends each pod within its grace period and
          // PodDisruptionBudgets decide, as `kubectl drain` would; the Node is deleted further on.
          const name = ctx.facts.joinedNode;
          if (!name) return;
          await opts.cluster.drainNode(name, ctx.log);
          ctx.log(`drained node ${name}`);
        },
      },
      {
        name: 'stop-services',
        title: 'Stop and disable the EdgeFleet services',
        async apply(ctx) {
          // A tunnel agent that was there before EdgeFleet's conversion (installer image, first
          // visit) stays: it is the node's state before, and for a NAT-only node the very path this
          // revert runs over. Only a unit the manifest says EdgeFleet added is stopped.
          // kubelet of a joined machine was not running on an identity before the join.
          if (ctx.facts.joinedNode) await ctx.remote.sh('systemctl stop kubelet.service 2>/dev/null || true');
          await ctx.remote.sh(
            `systemctl disable --now edgefleet-hub.service 2>/dev/null || true
ip link del edgefleet-dummy0 2>/dev/null || true
ip addr del ${HUB_DEFAULTS.masterService.host}/32 dev lo 2>/dev/null || true
if [ -f ${MANIFEST} ] && cut -d' ' -f1,3- ${MANIFEST} | grep -q -F -x 'A /etc/systemd/system/edgefleet-tunnel-agent.service'; then
  systemctl disable --now edgefleet-tunnel-agent.service 2>/dev/null || true
fi`,
          );
        },
      },
      {
        name: 'restore-files',
        title: 'Restore every touched path and remove what was added',
        async apply(ctx) {
          if (!ctx.facts.hadManifest) return;
          const lines = await restorePaths(ctx.remote);
          for (const l of lines) ctx.log(l);
        },
      },
      {
        name: 'leave-cluster',
        title: 'A machine EdgeFleet joined leaves the cluster: delete its Node object',
        async apply(ctx) {
          const name = ctx.facts.joinedNode;
          if (!name) return;
          await opts.cluster.deleteNode(name);
          ctx.log(`deleted Node ${name}: the machine is back to kubelet installed, not joined`);
        },
      },
      {
        name: 'restart-kubelet',
        title: 'Restart kubelet on its original kubeconfig',
        async apply(ctx) {
          const r = await ctx.remote.sh(
            'systemctl daemon-reload; systemctl reset-failed edgefleet-hub.service 2>/dev/null || true',
          );
          if (r.code !== 0)
            throw new AppError('provision/step-failed', `${ctx.host}: daemon-reload failed: ${r.stderr}`);
          if (!ctx.facts.kubeletWasActive || ctx.facts.joinedNode) return;
          await ctx.remote.sh('systemctl restart kubelet.service');
          for (let i = 0; i < 20; i++) {
            const a = await ctx.remote.sh('systemctl is-active kubelet', { log: false });
            if (a.stdout.trim() === 'active') return;
            await sleep(500);
          }
          throw new AppError(
            'provision/kubelet-down',
            `${ctx.host}: kubelet is not active after revert`,
            'Check journalctl -u kubelet on the node.',
          );
        },
      },
    ],
  };
}
