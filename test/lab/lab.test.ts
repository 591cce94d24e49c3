import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Lab } from './lab.ts';

// The lab as a whole: parts composed, reachable from hosts, and torn down without a trace,
// whether stopped by a test, interrupted with Ctrl-C, or run detached through the CLI.
describe('Lab.start', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.start({ hosts: 1, kwokNodes: 1, kubelets: 1 });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  test('the API server is reachable from a lab host over the lab network', async () => {
    const readyz = `${lab.cluster.apiServerUrl}/readyz`;
    const host = lab.host('edge-1');
    await host.run(['sh', '-c', 'cat > /root/lab-ca.crt'], {
      input: await readFile(lab.cluster.caCertPath, 'utf8'),
    });
    const out = await host.run(['curl', '-sS', '--max-time', '5', '--cacert', '/root/lab-ca.crt', readyz]);
    expect(out.trim()).toBe('ok');
  });

  test('the kwok node and the real kubelet node register Ready', async () => {
    const nodes = await lab.cluster.kubectlJson<{
      items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[];
    }>(['get', 'nodes']);
    const ready = nodes.items.map((n) => [
      n.metadata.name,
      n.status.conditions.find((c) => c.type === 'Ready')?.status,
    ]);
    expect(ready).toHaveLength(2);
    expect(ready).toContainEqual(['kube-1', 'True']);
    expect(ready.every(([, status]) => status === 'True')).toBe(true);
  });

  test('stop() leaves no namespaces, links, mounts or processes', async () => {
    const { dir, id } = lab;
    await lab.stop();
    expect(await Lab.leftovers(dir, id)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});

/**
 * Starts the fixture lab in a child process and sends it SIGINT (Ctrl-C) once `when` matches
 * its output: after the lab is up, or in the middle of starting it (hosts booting).
 */
async function interruptLab(
  when: RegExp,
): Promise<{ dir: string; id: string; code: number | null; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'efl-sigint-'));
  const child = spawn(process.execPath, ['test/lab/fixtures/lab-until-signal.ts', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d;
      if (when.test(output)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`lab fixture exited ${code} early: ${output.slice(-2000)}`)));
  });
  const state = JSON.parse(await readFile(join(dir, 'lab.json'), 'utf8')) as { id: string };
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  const code = await exited;
  return { dir, id: state.id, code, output: output.slice(-4000) };
}

test('Ctrl-C on a process running a lab cleans everything up', async () => {
  const { dir, id, code, output } = await interruptLab(/READY \w+/);
  expect(code, output).toBe(130);
  expect(await Lab.leftovers(dir, id)).toEqual([]);
  await rm(dir, { recursive: true, force: true });
});

test('Ctrl-C while the lab is still starting (hosts booting) cleans everything up', async () => {
  const { dir, id, code, output } = await interruptLab(/API server \S+ ready/);
  expect(code, output).toBe(130);
  expect(await Lab.leftovers(dir, id)).toEqual([]);
  await rm(dir, { recursive: true, force: true });
});

test('npm run lab -- up | status | down (detached lab for people)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgefleet-lab-cli-'));
  const env = { ...process.env, EDGEFLEET_LAB_DIR: dir };
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['test/lab/cli.ts', ...args], { env, encoding: 'utf8', timeout: 180_000 });
  const up = cli('up', '--hosts', '1', '--kwok', '1', '--kubelets', '0');
  expect(up.status, up.stderr).toBe(0);
  expect(existsSync(join(dir, 'kubeconfig'))).toBe(true);
  // The CLI has exited; the lab must still be there for people to use.
  const status = cli('status');
  expect(status.status, status.stderr).toBe(0);
  const parsed = JSON.parse(status.stdout) as {
    id: string;
    apiServerUrl: string;
    hosts: { name: string; address: string; running: boolean; link: string }[];
    kubelets: unknown[];
    nodes: { name: string; ready: string }[];
  };
  expect(parsed.apiServerUrl).toMatch(/^https:\/\/198\.18\.\d+\.1:\d+$/);
  expect(parsed.hosts).toEqual([expect.objectContaining({ name: 'edge-1', running: true, link: 'up' })]);
  expect(parsed.nodes).toEqual([expect.objectContaining({ ready: 'True' })]);
  expect(parsed.kubelets).toEqual([]);
  const down = cli('down');
  expect(down.status, down.stderr).toBe(0);
  expect(await Lab.leftovers(dir, parsed.id)).toEqual([]);
  await rm(dir, { recursive: true, force: true });
});
