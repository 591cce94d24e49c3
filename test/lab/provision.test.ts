import { mkdir, readFile, rm, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProvisionProgress } from '../../src-main/ipc/types.ts';
import { type BatchHost, formatSummary, runBatch } from '../../src-main/provision/batch.ts';
import { type ClusterAccess, kubeClusterAccess } from '../../src-main/provision/cluster-access.ts';
import { convertPlan } from '../../src-main/provision/convert.ts';
import { revertPlan } from '../../src-main/provision/revert.ts';
import { HostKeyUnknownError, SshSession, type SshTarget } from '../../src-main/provision/ssh-session.ts';
import { installKubeletStandin, kubeletKubeconfig, waitNodeReady } from './fixtures/kubelet-standin.ts';
import { Lab } from './lab.ts';
import { Pki } from './pki.ts';
import { provisionKit, snapshot } from './provision-support.ts';

// Converting real Debian hosts (nspawn) over SSH: hub under systemd, the kubelet stand-in
// (test/lab/fixtures/kubelet-standin.sh — NOT a real kubelet) going through it, node in its pool;
// revert back to byte-identical files.

const RESOURCES = resolve(import.meta.dirname, '../../resources');
const OP_PASSWORD = 'op-lab-password-7';

describe('provisioning: convert / revert lab hosts over SSH', () => {
  let lab: Lab;
  let kit: Awaited<ReturnType<typeof provisionKit>>;
  let cluster: ClusterAccess;
  const before = new Map<string, string[]>();
  let passwordRef = '';

  const direct = (name: string): SshTarget => ({
    host: lab.host(name).address,
    username: 'root',
    auth: { kind: 'key', privateKeyRef: kit.keyRef },
  });

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('lab tests need root');
    lab = await Lab.start({ hosts: 3, kwokNodes: 0 });
    kit = await provisionKit(lab);
    cluster = kubeClusterAccess(lab.kubeconfig);
    passwordRef = await kit.vault.put('ssh-password', 'op', OP_PASSWORD);
    await Promise.all(
      lab.hosts.map(async (h) => {
        await installKubeletStandin(lab, h);
        // An operator account with password login and passwordless sudo, and one without sudo.
        const r = await h.exec(`set -e
useradd -m -s /bin/sh op; echo 'op:${OP_PASSWORD}' | chpasswd
echo 'op ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/op; chmod 0440 /etc/sudoers.d/op
useradd -m -s /bin/sh nosudo; echo 'nosudo:${OP_PASSWORD}' | chpasswd
printf 'Match User op,nosudo\\n  PasswordAuthentication yes\\n' > /etc/ssh/sshd_config.d/zz-lab-password.conf
systemctl reload ssh`);
        if (r.code !== 0) throw new Error(`${h.name}: ${r.stderr}`);
      }),
    );
    await Promise.all(lab.hosts.map((h) => waitNodeReady(lab, h.name)));
    for (const h of lab.hosts) before.set(h.name, await snapshot(h));
  });

  afterAll(async () => {
    cluster?.close();
    await lab?.stop();
    if (kit) await rm(kit.dir, { recursive: true, force: true });
  });

  it('asks to trust an unknown host key (showing its fingerprint), then connects', async () => {
    for (const h of lab.hosts) {
      const err = await SshSession.connect(direct(h.name), {
        vault: kit.vault,
        knownHosts: kit.knownHosts,
      }).then(
        (s) => {
          s.close();
          throw new Error('connected without a trusted host key');
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(HostKeyUnknownError);
      const u = err as HostKeyUnknownError;
      // What the UI shows is exactly the host's own fingerprint.
      expect(u.fingerprint).toBe(h.hostKeyFingerprint());
      await kit.knownHosts.trust(u.host, u.port, u.keyType, u.fingerprint);
    }
    const s = await SshSession.connect(direct('edge-1'), { vault: kit.vault, knownHosts: kit.knownHosts });
    expect((await s.exec('hostname')).stdout.trim()).toBe('edge-1');
    s.close();
  });

  it('converts three hosts in parallel (one through a jump host, one as a sudo user with a password)', async () => {
    const hosts: BatchHost[] = [
      { name: 'edge-1', target: direct('edge-1') },
      { name: 'edge-2', target: { ...direct('edge-2'), jump: direct('edge-1') } },
      {
        name: 'edge-3',
        target: { host: lab.host('edge-3').address, username: 'op', auth: { kind: 'password', passwordRef } },
      },
    ];
    const events: ProvisionProgress[] = [];
    const summary = await runBatch(hosts, {
      plan: () =>
        convertPlan({
          cluster,
          resourcesDir: RESOURCES,
          cacheDir: kit.cacheDir,
          pool: 'site-a',
          autonomyDuration: '0',
        }),
      vault: kit.vault,
      knownHosts: kit.knownHosts,
      stateDir: kit.stateDir,
      concurrency: 3,
      onProgress: (e) => events.push(e),
    });
    console.log(formatSummary(summary));
    expect(summary.hosts.map((h) => [h.host, h.status, h.error?.message])).toEqual([
      ['edge-1', 'done', undefined],
      ['edge-2', 'done', undefined],
      ['edge-3', 'done', undefined],
    ]);
    // Upload progress carried bytes; every host got the runtime once.
    expect(events.some((e) => e.step === 'upload-runtime' && e.bytes && e.bytes.sent > 0)).toBe(true);
    for (const name of ['edge-1', 'edge-2', 'edge-3']) {
      const h = lab.host(name);
      expect((await h.run('systemctl is-active edgefleet-hub')).trim()).toBe('active');
      expect((await h.run('systemctl is-enabled edgefleet-hub')).trim()).toBe('enabled');
      expect(await h.run('cat /etc/kubernetes/kubelet.conf')).toContain('"server": "http://127.0.0.1:10261"');
      expect(
        await h.run('stat -c %a /var/lib/edgefleet/cache /var/lib/edgefleet/pki /var/lib/edgefleet/journal'),
      ).toBe('700\n700\n700\n');
      const ready = JSON.parse(await h.run('curl -s http://127.0.0.1:10267/v1/readyz')) as { ready: boolean };
      expect(ready.ready).toBe(true);
      const metrics = await h.run('curl -s http://127.0.0.1:10267/metrics');
      expect(metrics).toMatch(/edgefleet_hub_requests_total\{[^}]*component="kubelet"/);
      const node = await cluster.getNode(name);
      expect(node?.labels['apps.openyurt.io/nodepool']).toBe('site-a');
      expect(node?.annotations['node.openyurt.io/autonomy-duration']).toBe('0');
      expect(node?.ready?.status).toBe('True');
    }
    // No CSR approver in this cluster: the run says pods use the API directly and how to change that.
    const log = await readFile(summary.hosts[0]?.logFile ?? '', 'utf8');
    expect(log).toMatch(/pods on this node reach the API directly .* csrapprover/);
    // The jump host really carried edge-2's connection: edge-2's sshd saw it come from edge-1.
    const sshLog = await lab.host('edge-2').run('journalctl -u ssh --no-pager -o cat');
    expect(sshLog).toContain(`Accepted publickey for root from ${lab.host('edge-1').address}`);
  });

  it('reverts a host to byte-identical files and kubelet back on its own kubeconfig', async () => {
    const summary = await runBatch([{ name: 'edge-2', target: direct('edge-2') }], {
      plan: () => revertPlan({ cluster }),
      vault: kit.vault,
      knownHosts: kit.knownHosts,
      stateDir: kit.stateDir,
    });
    console.log(formatSummary(summary));
    expect(summary.hosts[0]?.status).toBe('done');
    expect(await snapshot(lab.host('edge-2'))).toEqual(before.get('edge-2'));
    expect((await lab.host('edge-2').run('systemctl is-active kubelet')).trim()).toBe('active');
    const node = await cluster.getNode('edge-2');
    expect(node?.labels['apps.openyurt.io/nodepool']).toBeUndefined();
    await waitNodeReady(lab, 'edge-2');
  });

  it('resumes the upload after the link is cut in the middle of it', async () => {
    const h = lab.host('edge-2');
    let cut = false;
    let restoreTimer: NodeJS.Timeout | undefined;
    const logs: string[] = [];
    const summary = await runBatch([{ name: 'edge-2', target: direct('edge-2') }], {
      plan: () => convertPlan({ cluster, resourcesDir: RESOURCES, cacheDir: kit.cacheDir, pool: 'site-a' }),
      vault: kit.vault,
      knownHosts: kit.knownHosts,
      stateDir: kit.stateDir,
      keepaliveIntervalMs: 1_000,
      keepaliveCountMax: 3,
      readyTimeoutMs: 5_000,
      reconnectDelayMs: 1_000,
      maxReconnects: 8,
      onLog: (l) => logs.push(l.line),
      onProgress: (e) => {
        // Early in the upload: the cut (a few iptables runs) must land before a fast link has sent it all.
        if (!cut && e.step === 'upload-runtime' && e.bytes && e.bytes.sent > e.bytes.total * 0.05) {
          cut = true;
          void h.cut();
          restoreTimer = setTimeout(() => void h.restore(), 8_000);
        }
      },
    }).finally(async () => {
      clearTimeout(restoreTimer);
      await h.restore();
    });
    console.log(formatSummary(summary));
    expect(cut).toBe(true);
    const r = summary.hosts[0];
    expect(r?.status).toBe('done');
    const resumedAt = logs.map((l) => /resuming upload at (\d+) of (\d+)/.exec(l)).find(Boolean);
    expect(resumedAt, logs.join('\n')).toBeTruthy();
    const [at, total] = [Number(resumedAt?.[1]), Number(resumedAt?.[2])];
    expect(at).toBeGreaterThan(0);
    // Resumed, not restarted: well under two full copies went over the link.
    expect(r?.bytesSent ?? 0).toBeLessThan(total * 1.5);
    expect((await h.run('systemctl is-active edgefleet-hub')).trim()).toBe('active');
  });

  it('reverts all three hosts in one batch, each to byte-identical files', async () => {
    const summary = await runBatch(
      ['edge-1', 'edge-2', 'edge-3'].map((n) => ({ name: n, target: direct(n) })),
      {
        plan: () => revertPlan({ cluster }),
        vault: kit.vault,
        knownHosts: kit.knownHosts,
        stateDir: kit.stateDir,
        concurrency: 3,
      },
    );
    expect(summary.counts.done).toBe(3);
    for (const n of ['edge-1', 'edge-2', 'edge-3'])
      expect(await snapshot(lab.host(n))).toEqual(before.get(n));
  });

  it('one host refused for a full disk, one failing a step (rolled back), the third converted', async () => {
    const full = lab.host('edge-1');
    const noexec = lab.host('edge-2');
    await full.run('mount -t tmpfs -o size=30m,mode=0755 edgefleet-test-full /opt');
    await noexec.run('mount -t tmpfs -o size=400m,mode=0755,noexec edgefleet-test-noexec /opt');
    try {
      const base = { full: await snapshot(full), noexec: await snapshot(noexec) };
      const summary = await runBatch(
        ['edge-1', 'edge-2', 'edge-3'].map((n) => ({ name: n, target: direct(n) })),
        {
          plan: () =>
            convertPlan({ cluster, resourcesDir: RESOURCES, cacheDir: kit.cacheDir, pool: 'site-b' }),
          vault: kit.vault,
          knownHosts: kit.knownHosts,
          stateDir: kit.stateDir,
          concurrency: 3,
        },
      );
      console.log(formatSummary(summary));
      const [r1, r2, r3] = summary.hosts;
      expect(r1?.status).toBe('refused');
      expect(r1?.error?.code).toBe('refused/disk-full');
      expect(r1?.error?.message).toMatch(/disk \/opt: \d+ MiB free, \d+ MiB needed/);
      expect(r2?.status).toBe('failed');
      expect(r2?.failedStep).toBe('start-hub');
      expect(r2?.rolledBack).toEqual(expect.arrayContaining(['install', 'prepare']));
      expect(r3?.status).toBe('done');
      expect(await snapshot(full)).toEqual(base.full);
      expect(await snapshot(noexec)).toEqual(base.noexec);
      expect((await noexec.run('systemctl is-active edgefleet-hub || true')).trim()).not.toBe('active');
      expect(await noexec.run('cat /etc/kubernetes/kubelet.conf')).toContain('https://');
      expect((await cluster.getNode('edge-3'))?.labels['apps.openyurt.io/nodepool']).toBe('site-b');
    } finally {
      await full.exec('umount /opt');
      await noexec.exec('umount /opt');
    }
    const back = await runBatch([{ name: 'edge-3', target: direct('edge-3') }], {
      plan: () => revertPlan({ cluster }),
      vault: kit.vault,
      knownHosts: kit.knownHosts,
      stateDir: kit.stateDir,
    });
    expect(back.counts.done).toBe(1);
    expect(await snapshot(lab.host('edge-3'))).toEqual(before.get('edge-3'));
  });

  it('refuses dangerous input before any change: no sudo, another cluster, node-name collision, no bundle for the arch', async () => {
    // A kubelet identity from a different cluster (its own CA) on edge-2, one claiming edge-1's name on edge-3.
    const other = await Pki.create(join(kit.dir, 'other-pki'));
    const otherClient = await other.issueClientCert('kubelet-x', 'system:node:edge-2', ['system:nodes']);
    const otherConf = await readFile(
      await other.writeKubeconfig(join(kit.dir, 'other.conf'), {
        server: `https://${lab.net.gateway}:1`,
        user: 'kubelet',
        client: otherClient,
      }),
      'utf8',
    );
    const stolenName = await kubeletKubeconfig(lab, 'edge-1');
    const keep = new Map<string, string>();
    for (const [n, conf] of [
      ['edge-2', otherConf],
      ['edge-3', stolenName],
    ] as const) {
      keep.set(n, await lab.host(n).run('cat /etc/kubernetes/kubelet.conf'));
      await lab.host(n).exec('cat > /etc/kubernetes/kubelet.conf', { input: conf });
    }
    const armOnly = join(kit.dir, 'resources-arm-only');
    await mkdir(join(armOnly, 'node'), { recursive: true });
    await symlink(join(RESOURCES, 'agent'), join(armOnly, 'agent'));
    await symlink(join(RESOURCES, 'systemd'), join(armOnly, 'systemd'));
    await symlink(join(RESOURCES, 'node', 'linux-arm64'), join(armOnly, 'node', 'linux-arm64'));
    try {
      const snaps = new Map<string, string[]>();
      for (const h of lab.hosts) snaps.set(h.name, await snapshot(h));
      const summary = await runBatch(
        [
          {
            name: 'edge-1',
            target: {
              host: lab.host('edge-1').address,
              username: 'nosudo',
              auth: { kind: 'password', passwordRef },
            },
          },
          { name: 'edge-2', target: direct('edge-2') },
          { name: 'edge-3', target: direct('edge-3') },
        ],
        {
          plan: () => convertPlan({ cluster, resourcesDir: RESOURCES, cacheDir: kit.cacheDir }),
          vault: kit.vault,
          knownHosts: kit.knownHosts,
          stateDir: kit.stateDir,
          concurrency: 3,
        },
      );
      console.log(formatSummary(summary));
      expect(summary.hosts.map((h) => [h.host, h.status, h.error?.code])).toEqual([
        ['edge-1', 'refused', 'refused/no-sudo'],
        ['edge-2', 'refused', 'refused/other-cluster'],
        ['edge-3', 'refused', 'refused/node-name-collision'],
      ]);
      expect(summary.hosts[1]?.error?.message).toContain('another cluster');
      const arch = await runBatch([{ name: 'edge-1', target: direct('edge-1') }], {
        plan: () => convertPlan({ cluster, resourcesDir: armOnly, cacheDir: kit.cacheDir }),
        vault: kit.vault,
        knownHosts: kit.knownHosts,
        stateDir: kit.stateDir,
      });
      expect(arch.hosts[0]?.error?.code).toBe('refused/no-bundle');
      expect(arch.hosts[0]?.error?.message).toContain('x86_64');
      for (const h of lab.hosts) expect(await snapshot(h)).toEqual(snaps.get(h.name));
    } finally {
      for (const [n, conf] of keep)
        await lab.host(n).exec('cat > /etc/kubernetes/kubelet.conf', { input: conf });
    }
  });

  it('says so when the password is wrong, and stops hard when a host key changed', async () => {
    const wrongRef = await kit.vault.put('ssh-password', 'op-wrong', 'not-the-password');
    await expect(
      SshSession.connect(
        {
          host: lab.host('edge-3').address,
          username: 'op',
          auth: { kind: 'password', passwordRef: wrongRef },
        },
        { vault: kit.vault, knownHosts: kit.knownHosts },
      ),
    ).rejects.toMatchObject({ code: 'ssh/auth-failed', message: expect.stringContaining('op@') });
    // The host gets a new host key (reinstalled — or someone in the middle): the run must not start.
    await lab
      .host('edge-3')
      .run('rm -f /etc/ssh/ssh_host_*; ssh-keygen -A >/dev/null; systemctl restart ssh');
    const summary = await runBatch([{ name: 'edge-3', target: direct('edge-3') }], {
      plan: () => convertPlan({ cluster, resourcesDir: RESOURCES, cacheDir: kit.cacheDir }),
      vault: kit.vault,
      knownHosts: kit.knownHosts,
      stateDir: kit.stateDir,
    });
    const r = summary.hosts[0];
    expect(r?.status).toBe('failed');
    expect(r?.error?.code).toBe('ssh/host-key-changed');
    expect(r?.error?.message).toMatch(/man-in-the-middle/);
    expect(r?.error?.fix).toMatch(/verify its new fingerprint/);
    expect(r?.applied).toEqual([]);
  });
});
