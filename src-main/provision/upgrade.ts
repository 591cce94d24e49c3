/**
 * The upgrade plan: a converted node gets the agent bundle (and Node runtime) of this app's
 * resources/, the hub restarts on it and must become ready and stay up; otherwise the previous
 * bundle, VERSION and unit are put back and the hub restarted on them (rollback). The previous
 * files are kept under /var/lib/edgefleet/upgrade/previous, which revert removes with the rest.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../ipc/errors.ts';
import { archOf, type Bundle, bundleFor } from './artifacts.ts';
import { curlOnNode, HUB_ADMIN_URL, run, writeFileScript } from './convert.ts';
import { shq } from './remote.ts';
import { RefusedError } from './runner.ts';
import type { Plan, RemoteShell, StepContext } from './types.ts';
import { isPresent, uploadArtifact } from './upload.ts';

export const PREVIOUS_DIR = '/var/lib/edgefleet/upgrade/previous';
const KEPT = [
  '/opt/edgefleet/agent/edgefleet-agent.mjs',
  '/opt/edgefleet/bin/node',
  '/opt/edgefleet/VERSION',
  '/etc/systemd/system/edgefleet-hub.service',
];

export interface UpgradeOptions {
  resourcesDir: string;
  cacheDir: string;
  /** How long the restarted hub has to become ready (default 60 s). */
  readyTimeoutMs?: number;
  /** How long it must then stay up without a restart (default 5 s). */
  stableMs?: number;
}

export interface UpgradeFacts {
  machine?: string;
  fromVersion?: string;
  toVersion?: string;
}

type Ctx = StepContext<UpgradeFacts>;

/** Puts the kept previous files back (and restarts the hub on them when it was restarted on the new ones). */
async function restorePrevious(remote: RemoteShell, restart: boolean): Promise<void> {
  const r = await remote.sh(`[ -d ${PREVIOUS_DIR} ] || exit 0
for p in ${KEPT.map(shq).join(' ')}; do
  if [ -e "${PREVIOUS_DIR}$p" ]; then cp -a "${PREVIOUS_DIR}$p" "$p.edgefleet-new" && mv -f "$p.edgefleet-new" "$p"; fi
done
systemctl daemon-reload
${restart ? 'systemctl restart edgefleet-hub.service' : ''}`);
  if (r.code !== 0)
    throw new AppError(
      'provision/rollback-failed',
      `${remote.host}: restoring the previous agent failed: ${r.stderr.trim()}`,
      `The previous files are in ${PREVIOUS_DIR} on the node.`,
    );
}

/** Hub ready (/v1/readyz 200), then up for `stableMs` without systemd restarting it. */
async function waitHubReady(ctx: Ctx, timeoutMs: number, stableMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const r = await curlOnNode(ctx.remote, `${HUB_ADMIN_URL}/v1/readyz`);
    last = `readyz ${r.status || 'no answer'}`;
    if (r.status === 200) {
      const restarts = async () =>
        (
          await ctx.remote.sh('systemctl show -p NRestarts --value edgefleet-hub', { log: false })
        ).stdout.trim();
      const before = await restarts();
      await sleep(stableMs);
      const again = await curlOnNode(ctx.remote, `${HUB_ADMIN_URL}/v1/readyz`);
      if (again.status === 200 && (await restarts()) === before) return;
      last = `ready, then restarted or not ready after ${stableMs} ms`;
    }
    if (Date.now() > deadline) {
      const j = await ctx.remote.sh('journalctl -u edgefleet-hub --no-pager -n 15 -o cat 2>&1 || true');
      throw new AppError(
        'provision/hub-not-ready',
        `${ctx.host}: the upgraded hub is not ready within ${timeoutMs / 1000} s (${last}): ${j.stdout.trim().split('\n').slice(-3).join(' | ')}`,
        'The previous agent was put back. See the hub journal on the node (journalctl -u edgefleet-hub).',
      );
    }
    ctx.progress(Math.min(95, ((Date.now() - (deadline - timeoutMs)) / timeoutMs) * 100), undefined, last);
    await sleep(500);
  }
}

export function upgradePlan(opts: UpgradeOptions): Plan<UpgradeFacts> {
  let bundle: Bundle | undefined;
  const getBundle = async (ctx: Ctx): Promise<Bundle> => {
    const machine = ctx.facts.machine ?? (await ctx.remote.sh('uname -m', { log: false })).stdout.trim();
    bundle ??= await bundleFor(opts.resourcesDir, archOf(machine), machine, opts.cacheDir);
    return bundle;
  };
  // Until the restart the hub still runs the previous agent from memory: putting the files back is enough.
  const undo = async (ctx: Ctx) => restorePrevious(ctx.remote, false);
  return {
    name: 'upgrade',
    initialFacts: {},
    steps: [
      {
        name: 'inspect',
        title: 'Read the installed agent version',
        async apply(ctx) {
          const r = await ctx.remote.sh(
            'uname -m; cat /opt/edgefleet/VERSION 2>/dev/null || echo none; [ -f /etc/systemd/system/edgefleet-hub.service ] && echo unit || echo no-unit',
            { log: false },
          );
          const [machine = '', version = 'none', unit = ''] = r.stdout.trim().split('\n');
          if (version === 'none' || unit !== 'unit')
            throw new RefusedError(
              'refused/not-converted',
              `${ctx.host}: EdgeFleet is not installed here (no /opt/edgefleet/VERSION or hub unit)`,
              'Convert or join the node first.',
            );
          ctx.facts.machine = machine;
          ctx.facts.fromVersion = version;
          const b = await getBundle(ctx);
          ctx.facts.toVersion = b.version;
          ctx.log(`agent ${version} installed; this app ships ${b.version}`);
        },
      },
      {
        name: 'keep-previous',
        title: 'Keep the installed agent for rollback',
        async apply(ctx) {
          await run(
            ctx,
            'keeping the previous agent',
            `rm -rf ${PREVIOUS_DIR}; mkdir -p -m 0700 ${PREVIOUS_DIR}
for p in ${KEPT.map(shq).join(' ')}; do
  if [ -e "$p" ]; then mkdir -p "${PREVIOUS_DIR}$(dirname "$p")"; cp -a "$p" "${PREVIOUS_DIR}$p"; fi
done`,
          );
        },
      },
      {
        name: 'upload-runtime',
        title: 'Send the Node runtime if it changed (checksummed, resumable)',
        async check(ctx) {
          return isPresent(ctx.remote, (await getBundle(ctx)).runtime);
        },
        async apply(ctx) {
          await uploadArtifact(ctx, (await getBundle(ctx)).runtime);
        },
        undo,
      },
      {
        name: 'upload-agent',
        title: 'Send the new agent bundle (checksummed, resumable)',
        async check(ctx) {
          return isPresent(ctx.remote, (await getBundle(ctx)).agent);
        },
        async apply(ctx) {
          await uploadArtifact(ctx, (await getBundle(ctx)).agent);
        },
        undo,
      },
      {
        name: 'install',
        title: 'Write the new VERSION and hub unit',
        async apply(ctx) {
          const version = (await getBundle(ctx)).version;
          const unit = (
            await readFile(join(opts.resourcesDir, 'systemd', 'edgefleet-hub.service'), 'utf8')
          ).replaceAll('@VERSION@', version);
          // No ef_touch: convert recorded these paths with their pre-EdgeFleet state, which revert restores.
          const plain = (s: string) => s.replace(/^ef_touch .*$/m, '');
          await run(
            ctx,
            'writing VERSION and unit',
            [
              plain(writeFileScript('install', '/opt/edgefleet/VERSION', `${version}\n`, '0644')),
              plain(writeFileScript('install', '/etc/systemd/system/edgefleet-hub.service', unit, '0644')),
              'systemctl daemon-reload',
            ].join('\n'),
          );
        },
        undo,
      },
      {
        name: 'restart-hub',
        title: 'Restart the hub on the new agent and wait until it is ready and stays up',
        async apply(ctx) {
          await run(ctx, 'restarting the hub', 'systemctl restart edgefleet-hub.service');
          await waitHubReady(ctx, opts.readyTimeoutMs ?? 60_000, opts.stableMs ?? 5_000);
          ctx.log(`hub ready on agent ${ctx.facts.toVersion} (was ${ctx.facts.fromVersion})`);
        },
        async undo(ctx) {
          await restorePrevious(ctx.remote, true);
          await waitHubReady(ctx, opts.readyTimeoutMs ?? 60_000, opts.stableMs ?? 5_000);
          ctx.log(`rolled back: hub ready again on agent ${ctx.facts.fromVersion}`);
        },
      },
    ],
  };
}
