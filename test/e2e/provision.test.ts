/**
 * Provisioning from the app against the real lab, in Debian's Chromium: a field engineer adds a
 * lab host by address with the lab's SSH key (stored in the vault through the UI), checks and
 * accepts its host key after comparing the fingerprint, converts it, watches the steps complete,
 * reads the per-host summary, and finds the node in its pool on the Pools view.
 * The host's "kubelet" is the lab stand-in (test/lab/fixtures/kubelet-standin.sh, NOT a kubelet).
 */
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LABEL_NODEPOOL } from '../../src-agent/api/labels.ts';
import { VAULT_SERVICE } from '../../src-main/vault/vault.ts';
import { installKubeletStandin, waitNodeReady } from '../lab/fixtures/kubelet-standin.ts';
import { TestKeyring } from '../lab/keyring.ts';
import { Lab } from '../lab/lab.ts';
import { BrowserApp, buildApp, REPO, tearDownE2e, until } from './app-harness.ts';
import { launchChromium } from './chromium.ts';
import { addHostInUi, trustHostKeyInUi } from './ui-steps.ts';

const SHOTS = '/tmp';
const POOL = 'site-e2e';

let dir = '';
let lab: Lab | undefined;
let keyring: TestKeyring | undefined;
let app: BrowserApp | undefined;
let appUrl = '';
let browser: Browser | undefined;
let page: Page;
let tunnelKeyPem = '';

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('lab tests need root');
  buildApp();
  dir = await mkdtemp(join(tmpdir(), 'ef-e2e-provision-'));
  keyring = await TestKeyring.start();
  lab = await Lab.start({ hosts: 2, kwokNodes: 0 });
  await lab.cluster.kubectl(['apply', '-f', join(REPO, 'resources/crds')]);
  await lab.cluster.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/nodepools.apps.openyurt.io',
  ]);
  await lab.cluster.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'apps.openyurt.io/v1beta2',
      kind: 'NodePool',
      metadata: { name: POOL },
      spec: { type: 'Edge' },
    }),
  });
  // edge-1 is converted by the app with autonomy; edge-2 stays a plain node (no hub, no autonomy).
  for (const name of ['edge-1', 'edge-2']) {
    await installKubeletStandin(lab, lab.host(name));
    await waitNodeReady(lab, name);
  }
  app = new BrowserApp(dir, keyring);
  await app.start();
  appUrl = app.url;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
});

afterAll(async () => {
  await tearDownE2e({ browser, app, lab, keyring, dir });
});

describe('provisioning in the app', () => {
  test('add a lab host, accept its host key, convert it, see the summary and the node in its pool', async () => {
    const l = lab as Lab;
    const host = l.host('edge-1');
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(appUrl);
    await page.getByText('Secrets are stored in the OS keychain').waitFor({ timeout: 15_000 });
    await page.getByLabel('Kubeconfig path').fill(l.cluster.kubeconfigPath);
    await page.getByLabel('Name (optional)').fill('lab');
    await page.getByRole('button', { name: 'Import' }).click();
    const open = page.getByRole('button', { name: /^Open .* \(imported\)$/ });
    await open.waitFor({ timeout: 15_000 });
    await open.click();
    try {
      await page
        .getByRole('status', { name: 'Cluster connection' })
        .getByText('Connected')
        .waitFor({ timeout: 30_000 });
    } catch (e) {
      await page.screenshot({
        path: join(SHOTS, 'edgefleet-e2e-provision-connect-failed.png'),
        fullPage: true,
      });
      await writeFile(join(SHOTS, 'edgefleet-e2e-provision-app.log'), (app as BrowserApp).output);
      throw e;
    }

    const form = await addHostInUi(page, {
      site: POOL,
      name: 'edge-1',
      address: host.address,
      privateKey: l.key.privateKey,
    });
    // The key field is emptied once the key is in the vault.
    await expect(form.getByLabel('Private key', { exact: true }).inputValue()).resolves.toBe('');

    const prompt = await trustHostKeyInUi(page, 'edge-1', host.hostKeyFingerprint(), () =>
      page.screenshot({ path: join(SHOTS, 'edgefleet-e2e-provision-hostkey.png'), fullPage: true }),
    );
    await expect(prompt.isVisible()).resolves.toBe(false);

    await page.getByRole('checkbox', { name: 'Include edge-1 in the run' }).check();
    const run = page.getByRole('form', { name: 'Run' });
    await run.getByLabel('Operation').selectOption('convert');
    await run.getByLabel('Node pool', { exact: true }).fill(POOL);
    await run.getByLabel('Autonomy duration', { exact: true }).fill('0');
    await run.getByRole('button', { name: 'Start' }).click();

    const panel = page.getByRole('region', { name: `Host ${POOL}/edge-1` });
    await panel.waitFor({ timeout: 15_000 });
    // Steps show up with their own progress while the run goes.
    try {
      await panel
        .getByRole('progressbar', { name: `upload-runtime on ${POOL}/edge-1` })
        .waitFor({ timeout: 120_000 });
    } catch (e) {
      // What the engineer would have seen, and main's log, for whoever reads the failure.
      await page.screenshot({ path: join(SHOTS, 'edgefleet-e2e-provision-run-failed.png'), fullPage: true });
      await writeFile(join(SHOTS, 'edgefleet-e2e-provision-app.log'), (app as BrowserApp).output);
      throw e;
    }
    const summaryRow = page
      .getByRole('table', { name: 'Run summary' })
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: `${POOL}/edge-1`, exact: true }) });
    await summaryRow.waitFor({ timeout: 240_000 });
    const status = await summaryRow.locator('td[data-col=status]').textContent();
    const detail = await summaryRow.locator('td').last().textContent();
    expect([status, detail]).toEqual(['done', expect.stringMatching(/MiB sent$/)]);
    // Every step of the plan completed, each bar full.
    const overall = panel.getByRole('progressbar', { name: `${POOL}/edge-1 overall` });
    const count = Number(await overall.getAttribute('aria-valuemax'));
    expect(count).toBeGreaterThanOrEqual(8);
    await expect(overall.getAttribute('aria-valuenow')).resolves.toBe(String(count));
    const bars = panel.getByRole('list', { name: `Steps on ${POOL}/edge-1` }).getByRole('progressbar');
    expect(await bars.count()).toBe(count);
    for (const v of await bars.evaluateAll((els) => els.map((e) => e.getAttribute('aria-valuenow'))))
      expect(v).toBe('100');
    await expect(page.getByRole('log', { name: 'Run log' }).textContent()).resolves.toContain('verified:');
    await page.screenshot({ path: join(SHOTS, 'edgefleet-e2e-provision.png'), fullPage: true });

    // The truth on the node and in the cluster.
    expect((await host.run('systemctl is-active edgefleet-hub')).trim()).toBe('active');
    const node = await l.cluster.kubectlJson<{ metadata: { labels: Record<string, string> } }>([
      'get',
      'node',
      'edge-1',
    ]);
    expect(node.metadata.labels[LABEL_NODEPOOL]).toBe(POOL);

    await page.getByRole('button', { name: 'Node pools' }).click();
    const poolRow = page
      .getByRole('table', { name: 'Node pools' })
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: POOL, exact: true }) });
    await until('edge-1 listed in its pool', 30_000, async () =>
      (await poolRow.locator('td[data-col=members]').textContent()) === 'edge-1' &&
      (await poolRow.locator('td[data-col=ready]').textContent()) === '1'
        ? true
        : undefined,
    );
    await page.screenshot({ path: join(SHOTS, 'edgefleet-e2e-provision-pools.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  test('cut off: the host with autonomy shows as cut off but autonomous, the one without as not ready; restored: Ready', async () => {
    const l = lab as Lab;
    type NodeJson = { status: { conditions: { type: string; status: string }[] } };
    const cond = async (node: string, type: string) =>
      (await l.cluster.kubectlJson<NodeJson>(['get', 'node', node])).status.conditions.find(
        (c) => c.type === type,
      )?.status;
    // The converted node's hub reports that autonomy will work before the link goes.
    await until('the hub to report Autonomy=True on edge-1', 90_000, async () =>
      (await cond('edge-1', 'Autonomy')) === 'True' ? true : undefined,
    );
    await page.getByRole('button', { name: 'Nodes' }).click();
    const state = (node: string) =>
      page
        .getByRole('table', { name: 'Nodes' })
        .getByRole('row')
        .filter({ has: page.getByRole('rowheader', { name: node, exact: true }) })
        .locator('td[data-col=state]');
    await until('both nodes Ready in the app', 30_000, async () =>
      (await state('edge-1').textContent()) === 'Ready' && (await state('edge-2').textContent()) === 'Ready'
        ? true
        : undefined,
    );

    await l.host('edge-1').cut();
    await l.host('edge-2').cut();
    try {
      const cutAt = Date.now();
      await until('edge-1 cut off but autonomous, edge-2 not ready, in the app', 60_000, async () =>
        (await state('edge-1').textContent()) === 'Cut off, autonomous' &&
        (await state('edge-2').textContent()) === 'Not ready, will be evicted'
          ? true
          : undefined,
      );
      expect(Date.now() - cutAt).toBeLessThan(60_000);
      // What the app says is what the API server says: neither node is Ready; only edge-1 has autonomy.
      expect(await cond('edge-1', 'Ready')).not.toBe('True');
      expect(await cond('edge-2', 'Ready')).not.toBe('True');
      expect(await cond('edge-1', 'Autonomy')).toBe('True');
      expect(await cond('edge-2', 'Autonomy')).toBeUndefined();
      await page.screenshot({ path: join(SHOTS, 'edgefleet-e2e-nodes-cut.png'), fullPage: true });
      await page.getByRole('button', { name: 'Topology' }).click();
      const glance = page
        .getByRole('table', { name: 'Pools at a glance' })
        .getByRole('row')
        .filter({ has: page.getByRole('rowheader', { name: POOL, exact: true }) });
      await until('the pool counts one autonomous node', 15_000, async () =>
        (await glance.locator('td[data-col=autonomous]').textContent()) === '1' ? true : undefined,
      );
      await page.getByLabel('Find').fill('edge-1');
      await page.getByRole('region', { name: 'Node edge-1' }).getByText('Cut off, autonomous').waitFor();
      await page.screenshot({ path: join(SHOTS, 'edgefleet-e2e-topology-cut.png'), fullPage: true });
    } finally {
      await l.host('edge-1').restore();
      await l.host('edge-2').restore();
    }
    await page.getByRole('button', { name: 'Nodes' }).click();
    await until('both nodes Ready again in the app', 90_000, async () =>
      (await state('edge-1').textContent()) === 'Ready' && (await state('edge-2').textContent()) === 'Ready'
        ? true
        : undefined,
    );
    expect(await cond('edge-1', 'Ready')).toBe('True');
    expect(await cond('edge-2', 'Ready')).toBe('True');
  });

  test('a NATed site: the app asks for its tunnel access and keeps the client key in the keychain', async () => {
    const l = lab as Lab;
    const operator = await l.cluster.pki.issueClientCert('e2e-tunnel-operator', 'edgefleet-operator');
    tunnelKeyPem = await readFile(operator.key, 'utf8');
    await page.getByRole('button', { name: 'Provisioning' }).click();
    const form = page.getByRole('form', { name: 'Add a host' });
    await form.getByLabel('Site', { exact: true }).fill('nat-site');
    await form.getByLabel('Host name', { exact: true }).fill('edge-nat');
    await form.getByLabel('Address', { exact: true }).fill('198.18.250.10');
    await form.getByLabel('Private key', { exact: true }).fill(l.key.privateKey);
    await form.getByLabel('Through the EdgeFleet tunnel (NATed site)').check();
    await form.getByRole('button', { name: 'Add host' }).click();
    const panel = page.getByRole('region', { name: 'Tunnel access for NATed sites' });
    const missing = panel.getByRole('alert');
    await missing.getByText(/Hosts of nat-site are reached through the tunnel/).waitFor({ timeout: 15_000 });

    const tunnelForm = panel.getByRole('form', { name: 'Set tunnel access' });
    await tunnelForm.getByLabel('Tunnel site').fill('nat-site');
    await tunnelForm.getByLabel('Door address').fill('198.18.0.1');
    await tunnelForm.getByLabel('Server name (if not the address)').fill('tunnel.lab');
    await tunnelForm.getByLabel('Tunnel server CA (PEM)').fill(await readFile(l.cluster.caCertPath, 'utf8'));
    await tunnelForm.getByLabel('Client certificate (PEM)').fill(await readFile(operator.cert, 'utf8'));
    await tunnelForm.getByLabel('Client key (PEM, kept in the keychain)').fill(tunnelKeyPem);
    await tunnelForm.getByRole('button', { name: 'Save tunnel access' }).click();
    const row = panel
      .getByRole('table', { name: 'Tunnel access' })
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: 'nat-site', exact: true }) });
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getByRole('cell').allTextContents()).toEqual([
      '198.18.0.1:10264',
      'tunnel.lab',
      'Remove nat-site',
    ]);
    await expect(missing.count()).resolves.toBe(0);
    await expect(tunnelForm.getByLabel('Client key (PEM, kept in the keychain)').inputValue()).resolves.toBe(
      '',
    );
    // The key is in the keychain (the Secret Service of this test), the app's files hold a reference.
    const keytar = (await import('keytar')).default;
    const stored = await keytar.findCredentials(VAULT_SERVICE);
    const entry = stored.find((c) => c.account.startsWith('tunnel-client-key/'));
    expect(entry?.password.trim()).toBe(tunnelKeyPem.trim());

    // A reload reads the profile back from main, not from the page's memory.
    await page.reload();
    await page.getByRole('button', { name: 'Provisioning' }).click();
    await page
      .getByRole('table', { name: 'Tunnel access' })
      .getByRole('rowheader', { name: 'nat-site', exact: true })
      .waitFor({ timeout: 15_000 });
  });

  test("the SSH key and the tunnel client key stay out of the app's files and log", async () => {
    const keyBody = (lab as Lab).key.privateKey.trim().split('\n')[1] as string;
    expect(keyBody.length).toBeGreaterThan(20);
    const files: string[] = [];
    const walk = async (d: string) => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(join(d, e.name));
        else files.push(join(d, e.name));
      }
    };
    await walk(join(dir, 'config', 'edgefleet'));
    expect(files.some((f) => f.endsWith('hosts.json'))).toBe(true);
    expect(files.some((f) => f.endsWith('.log'))).toBe(true);
    for (const f of files) {
      if (f.endsWith('.gz')) continue;
      expect((await readFile(f, 'utf8')).includes(keyBody), f).toBe(false);
    }
    expect((app as BrowserApp).output.includes(keyBody)).toBe(false);
    const tunnelKeyBody = tunnelKeyPem.trim().split('\n')[1] as string;
    expect(tunnelKeyBody.length).toBeGreaterThan(20);
    for (const f of files) {
      if (f.endsWith('.gz')) continue;
      expect((await readFile(f, 'utf8')).includes(tunnelKeyBody), f).toBe(false);
    }
  });
});
