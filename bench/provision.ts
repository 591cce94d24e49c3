/**
 * `npm run bench -- provision [sizes…] [--concurrency N]`: wall time and bytes sent to convert
 * 1, 5 and 20 lab hosts (default), each size from a clean state (the previous size is reverted
 * first). Goal: 20 hosts in under 2 minutes on the lab link, the bundle sent once per host.
 */
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type BatchHost, formatSummary, runBatch } from '../src-main/provision/batch.ts';
import { kubeClusterAccess } from '../src-main/provision/cluster-access.ts';
import { convertPlan } from '../src-main/provision/convert.ts';
import { revertPlan } from '../src-main/provision/revert.ts';
import { installKubeletStandin, waitNodeReady } from '../test/lab/fixtures/kubelet-standin.ts';
import { Lab } from '../test/lab/lab.ts';
import { provisionKit } from '../test/lab/provision-support.ts';

const MAX_HOSTS = 20;

export async function run(args: string[]): Promise<void> {
  const ci = args.indexOf('--concurrency');
  const concurrency = ci >= 0 ? Math.max(1, Math.min(20, Number(args[ci + 1]) || 10)) : 10;
  const sizes = args
    .filter((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--concurrency')
    .map(Number)
    .filter((n) => n >= 1 && n <= MAX_HOSTS);
  const plan = sizes.length ? sizes : [1, 5, 20];
  const hostCount = Math.max(...plan);
  const t0 = Date.now();
  const lab = await Lab.start({ hosts: hostCount, log: () => undefined });
  const kit = await provisionKit(lab);
  const cluster = kubeClusterAccess(lab.kubeconfig);
  try {
    console.log(`lab with ${hostCount} hosts up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await Promise.all(lab.hosts.map((h) => installKubeletStandin(lab, h)));
    await Promise.all(lab.hosts.map((h) => waitNodeReady(lab, h.name, 120_000)));
    // The bench measures conversion, not the trust prompt: pin each host's own fingerprint.
    for (const h of lab.hosts) {
      await kit.knownHosts.trust(h.address, 22, 'ssh-ed25519', h.hostKeyFingerprint());
    }
    const targets: BatchHost[] = lab.hosts.map((h) => ({
      name: h.name,
      target: { host: h.address, username: 'root', auth: { kind: 'key', privateKeyRef: kit.keyRef } },
    }));
    const rows: string[] = [];
    for (const n of plan) {
      const hosts = targets.slice(0, n);
      const summary = await runBatch(hosts, {
        plan: () =>
          convertPlan({
            cluster,
            resourcesDir: resolve(import.meta.dirname, '../resources'),
            cacheDir: kit.cacheDir,
            pool: 'bench',
          }),
        vault: kit.vault,
        knownHosts: kit.knownHosts,
        stateDir: kit.stateDir,
        concurrency,
      });
      if (summary.counts.done !== n) console.log(formatSummary(summary));
      const perHost = summary.bytesSent / n;
      rows.push(
        `convert ${String(n).padStart(2)} hosts: ${(summary.durationMs / 1000).toFixed(1).padStart(6)} s wall, ` +
          `${(summary.bytesSent / 2 ** 20).toFixed(1)} MiB sent (${(perHost / 2 ** 20).toFixed(1)} MiB/host), ${summary.counts.done}/${n} done`,
      );
      console.log(rows.at(-1));
      const back = await runBatch(hosts, {
        plan: () => revertPlan({ cluster }),
        vault: kit.vault,
        knownHosts: kit.knownHosts,
        stateDir: kit.stateDir,
        concurrency,
      });
      if (back.counts.done !== n) console.log(formatSummary(back));
    }
    console.log(
      `\nprovision bench (concurrency ${concurrency}; goal: 20 hosts < 120 s, bundle once per host)\n${rows.join('\n')}`,
    );
  } finally {
    cluster.close();
    await lab.stop();
    await rm(kit.dir, { recursive: true, force: true });
  }
}
