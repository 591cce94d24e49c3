/**
 * The revert plan: stop EdgeFleet on the node and put back every path the conversion touched,
 * byte for byte (from the manifest and backups on the node), then give kubelet its old kubeconfig.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../ipc/errors.ts';
import type { ClusterAccess } from './cluster-access.ts';
import { restoreNodeMeta } from './convert.ts';
import { MANIFEST, restorePaths } from './host-files.ts';
import type { Plan } from './types.ts';

export interface RevertFacts {
  hadManifest?: boolean;
  kubeletWasActive?: boolean;
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
        },
      },
      {
        name: 'restore-node-metadata',
        title: "Restore the node's pool label and autonomy annotation",
        async apply(ctx) {
          if (ctx.facts.hadManifest) await restoreNodeMeta(ctx.remote, opts.cluster);
        },
      },
      {
        name: 'stop-services',
        title: 'Stop and disable the EdgeFleet services',
        async apply(ctx) {
          // A tunnel agent that was there before EdgeFleet's conversion (installer image, first
          // visit) stays: it is the node's state before, and for a NAT-only node the very path this
          // revert runs over. Only a unit the manifest says EdgeFleet added is stopped.
          await ctx.remote.sh(
            `systemctl disable --now edgefleet-hub.service 2>/dev/null || true
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
        name: 'restart-kubelet',
        title: 'Restart kubelet on its original kubeconfig',
        async apply(ctx) {
          const r = await ctx.remote.sh(
            'systemctl daemon-reload; systemctl reset-failed edgefleet-hub.service 2>/dev/null || true',
          );
          if (r.code !== 0)
            throw new AppError('provision/step-failed', `${ctx.host}: daemon-reload failed: ${r.stderr}`);
          if (!ctx.facts.kubeletWasActive) return;
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
