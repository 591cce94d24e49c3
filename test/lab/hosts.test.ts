import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHostRunning, LabHost, mountPointsUnder, processesMentioning, readHostStates } from './host.ts';
import { LabNetwork, listLabNetworkObjects } from './net.ts';
import { ensureRootfs, parseSourcesList, readAptSource } from './rootfs.ts';
import { ensureLabKey, fingerprintOfKeyBlob, type LabKey } from './ssh-keys.ts';

// Real Debian hosts (systemd-nspawn on an overlay, own network namespace), reached over SSH
// with ssh2 the way the app will reach edge machines.

const labId = randomBytes(8)
  .toString('hex')
  .replace(/[^a-z0-9]/g, '')
  .slice(0, 4);
const here = path.dirname(fileURLToPath(import.meta.url));

interface SshResult {
  stdout: string;
  code: number | null;
}

/** Connects as root with the lab key, pinning the host key, runs one command. */
function sshRun(
  address: string,
  key: LabKey,
  expectedFingerprint: string,
  command: string,
  readyTimeout = 10_000,
): Promise<SshResult> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let seenFingerprint = '';
    client
      .on('ready', () => {
        client.exec(command, (err, stream) => {
          if (err) {
            client.end();
            reject(err);
            return;
          }
          let stdout = '';
          stream.on('data', (d: Buffer) => {
            stdout += d.toString('utf8');
          });
          stream.stderr.on('data', () => {});
          stream.on('close', (code: number | null) => {
            client.end();
            resolve({ stdout, code });
          });
        });
      })
      .on('error', (err) => {
        reject(
          seenFingerprint && seenFingerprint !== expectedFingerprint
            ? new Error(`host key mismatch: ${seenFingerprint}`)
            : err,
        );
      })
      .connect({
        host: address,
        port: 22,
        username: 'root',
        privateKey: key.privateKey,
        readyTimeout,
        hostVerifier: (blob: Buffer) => {
          seenFingerprint = fingerprintOfKeyBlob(blob);
          return seenFingerprint === expectedFingerprint;
        },
      });
  });
}

/** Resolves with how long the attempt took when it fails; rejects if it unexpectedly connects. */
async function sshFailsWithin(
  address: string,
  key: LabKey,
  fingerprint: string,
  readyTimeout: number,
): Promise<number> {
  const started = Date.now();
  try {
    await sshRun(address, key, fingerprint, 'true', readyTimeout);
  } catch {
    return Date.now() - started;
  }
  throw new Error(`ssh to ${address} succeeded but should have failed`);
}

describe('lab hosts: real Debian under systemd-nspawn', () => {
  let labDir = '';
  let network: LabNetwork | undefined;
  let key: LabKey;
  const hosts: LabHost[] = [];

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('lab tests need root: run them as root (CI does)');
    labDir = await mkdtemp(path.join(os.tmpdir(), `edgefleet-lab-${labId}-`));
    const rootfs = await ensureRootfs({ log: (l) => console.log(l) });
    console.log(
      rootfs.built
        ? `rootfs cold build: ${(rootfs.buildMs / 1000).toFixed(1)} s`
        : `rootfs cached at ${rootfs.path}`,
    );
    network = await LabNetwork.create(labId);
    key = await ensureLabKey(labDir);
    // Booted in parallel, as the Lab class will: each host has its own overlay and cgroup.
    const started = Date.now();
    const names = ['edge-1', 'edge-2'];
    const links = [];
    for (const [i, name] of names.entries()) links.push(await network.addHost(name, i + 1));
    const booted = await Promise.allSettled(
      links.map((link) =>
        LabHost.boot({ labDir, name: link.name, link, authorizedKey: key.publicKey, rootfs: rootfs.path }),
      ),
    );
    for (const b of booted) if (b.status === 'fulfilled') hosts.push(b.value);
    for (const b of booted) if (b.status === 'rejected') throw b.reason;
    for (const h of hosts) {
      const failed = h.lastBoot.failedUnits.length
        ? `; failed units: ${h.lastBoot.failedUnits.join(', ')}`
        : '';
      console.log(
        `host ${h.name} warm boot: ${(h.lastBoot.bootMs / 1000).toFixed(1)} s (${h.lastBoot.systemState}${failed})`,
      );
    }
    console.log(`${hosts.length} hosts up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  afterAll(async () => {
    const errors: unknown[] = [];
    for (const h of hosts) await h.stop().catch((e: unknown) => errors.push(e));
    // Hosts recorded on disk but not in this process (the detached test) go too.
    if (labDir) await LabHost.stopFromState(labDir).catch((e: unknown) => errors.push(e));
    await network?.destroy().catch((e: unknown) => errors.push(e));

    const leftNet = await listLabNetworkObjects(labId);
    const leftMounts = labDir ? mountPointsUnder(labDir) : [];
    const leftProcs = labDir ? processesMentioning(labDir) : [];
    if (labDir && !leftMounts.length) await rm(labDir, { recursive: true, force: true });
    expect(errors).toEqual([]);
    expect(leftNet).toEqual({ netns: [], links: [] });
    expect(leftMounts).toEqual([]);
    expect(leftProcs.map((p) => p.cmdline)).toEqual([]);
  });

  it("builds the rootfs from the machine's own Debian suite and mirror", async () => {
    const osRelease = await readFile('/etc/os-release', 'utf8');
    const codename = /^VERSION_CODENAME=(.*)$/m.exec(osRelease)?.[1];
    const source = await readAptSource();
    expect(source.suite).toBe(codename);
    expect(source.mirror).toMatch(/^https?:\/\//);
    expect(
      parseSourcesList('deb [arch=amd64] http://m.example/debian trixie main\n# deb http://x y z'),
    ).toEqual([{ mirror: 'http://m.example/debian', suite: 'trixie' }]);
  });

  it('boots each host to a running systemd with its own name and host key', async () => {
    const [a, b] = hosts;
    if (!a || !b) throw new Error('hosts did not boot');
    for (const h of [a, b]) {
      expect(['running', 'degraded']).toContain((await h.run(['systemctl', 'is-system-running'])).trim());
      expect((await h.run('hostname')).trim()).toBe(h.name);
      expect(h.hostKeyFingerprint()).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    }
    expect(a.hostKeyFingerprint()).not.toBe(b.hostKeyFingerprint());
    expect(a.address).not.toBe(b.address);
  });

  it('answers over SSH with the lab key and the pinned host key', async () => {
    const h = hosts[0];
    if (!h) throw new Error('no host');
    const r = await sshRun(h.address, key, h.hostKeyFingerprint(), 'systemctl is-system-running; hostname');
    const [state, hostname] = r.stdout.trim().split('\n');
    expect(['running', 'degraded']).toContain(state);
    expect(hostname).toBe(h.name);
    // Pinning another host's key must refuse the connection.
    const other = hosts[1]?.hostKeyFingerprint() ?? '';
    await expect(sshRun(h.address, key, other, 'true')).rejects.toThrow(/host key mismatch/);
  });

  it('refuses new SSH connections within the timeout while cut, and accepts them after restore', async () => {
    const h = hosts[1];
    if (!h) throw new Error('no host');
    await h.cut();
    try {
      const took = await sshFailsWithin(h.address, key, h.hostKeyFingerprint(), 3_000);
      expect(took).toBeGreaterThanOrEqual(2_500);
      expect(took).toBeLessThan(6_000);
    } finally {
      await h.restore();
    }
    const r = await sshRun(h.address, key, h.hostKeyFingerprint(), 'systemctl is-system-running');
    expect(['running', 'degraded']).toContain(r.stdout.trim());
  });

  it('NAT-only: the host can dial the cloud, the cloud cannot dial the host', async () => {
    const h = hosts[0];
    if (!h || !network) throw new Error('no host');
    let accepted = 0;
    const server = net.createServer((s) => {
      accepted++;
      s.end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, network?.gateway, () => resolve());
    });
    const port = (server.address() as net.AddressInfo).port;
    await h.setNatOnly(true);
    try {
      const dial = await h.exec(['bash', '-c', `exec 3<>/dev/tcp/${h.link.gateway}/${port}`], {
        timeoutMs: 10_000,
      });
      expect(dial.code).toBe(0);
      expect(accepted).toBe(1);
      await sshFailsWithin(h.address, key, h.hostKeyFingerprint(), 3_000);
    } finally {
      await h.setNatOnly(false);
      server.close();
    }
    const r = await sshRun(h.address, key, h.hostKeyFingerprint(), 'echo ok');
    expect(r.stdout.trim()).toBe('ok');
  });

  it('reboots for real and keeps its disk', async () => {
    const h = hosts[0];
    if (!h) throw new Error('no host');
    const marker = randomBytes(8).toString('hex');
    const initStart = async () => (await h.run('cut -d" " -f22 /proc/1/stat')).trim();
    const before = await initStart();
    await sshRun(h.address, key, h.hostKeyFingerprint(), `echo ${marker} > /root/marker && sync`);
    const started = Date.now();
    await h.reboot();
    console.log(`host ${h.name} reboot: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(await initStart()).not.toBe(before);
    const r = await sshRun(
      h.address,
      key,
      h.hostKeyFingerprint(),
      'cat /root/marker; systemctl is-system-running',
    );
    expect(r.stdout.trim().split('\n')).toEqual([marker, expect.stringMatching(/^(running|degraded)$/)]);
  });

  it('keeps running after the process that booted it exits, and stops from its state file', async () => {
    if (!network) throw new Error('no network');
    // A separate Node process boots edge-3 and exits, as `npm run lab -- up` does.
    const script = `
      import { LabNetwork } from ${JSON.stringify(path.join(here, 'net.ts'))};
      import { LabHost } from ${JSON.stringify(path.join(here, 'host.ts'))};
      const net = LabNetwork.attach(${JSON.stringify(labId)}, ${network.subnetIndex});
      const link = await net.addHost('edge-3', 3);
      const h = await LabHost.boot({ labDir: ${JSON.stringify(labDir)}, name: 'edge-3', link, authorizedKey: ${JSON.stringify(key.publicKey)} });
      console.log(JSON.stringify({ address: h.address, fingerprint: h.hostKeyFingerprint() }));
    `;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.once('error', reject);
      child.once('close', (code) =>
        code === 0 ? resolve(stdout) : reject(new Error(`boot process exited ${code}: ${stderr}`)),
      );
    });
    const booted = JSON.parse(out.trim().split('\n').pop() ?? '{}') as {
      address: string;
      fingerprint: string;
    };
    const r = await sshRun(booted.address, key, booted.fingerprint, 'hostname');
    expect(r.stdout.trim()).toBe('edge-3');
    const recorded = (await readHostStates(labDir)).find((s) => s.name === 'edge-3');
    expect(recorded && isHostRunning(recorded)).toBe(true);

    const stopped = await LabHost.stopFromState(labDir, { names: ['edge-3'] });
    expect(stopped).toEqual(['edge-3']);
    expect(await hosts[0]?.run('true')).toBe('');
    expect(mountPointsUnder(path.join(labDir, 'hosts', 'edge-3'))).toEqual([]);
    expect(processesMentioning(path.join(labDir, 'hosts', 'edge-3'))).toEqual([]);
    await sshFailsWithin(booted.address, key, booted.fingerprint, 3_000);
  });
});
