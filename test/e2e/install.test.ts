/**
 * Installing EdgeFleet from the Clusters view into a bare lab cluster (kwok nodes, no CRDs, no
 * controller): Install EdgeFleet… → the plan (every object "create") → Install → each object
 * applied → the result; then kubectl finds the CRDs Established and the controller's Deployment
 * with the image typed in the form. The controller running and reconciling on a real kubelet is
 * test/lab/install.test.ts; kwok nodes run no containers.
 *
 * The webhook box is unticked: the lab's API server has no route to Service IPs (no kube-proxy),
 * so a webhook configuration would make every Endpoints write wait for its timeout.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TestKeyring } from '../lab/keyring.ts';
import { Lab } from '../lab/lab.ts';
import { type BrowserApp, buildApp, openAppInChromium, tearDownE2e } from './app-harness.ts';

const IMAGE = 'mirror.lab.invalid/edgefleet/agent:e2e';
const shot = (name: string) => page.screenshot({ path: `/tmp/edgefleet-e2e-${name}.png`, fullPage: true });

let dir = '';
let lab: Lab | undefined;
let keyring: TestKeyring | undefined;
let app: BrowserApp | undefined;
let browser: Browser | undefined;
let page: Page;
const kubectl = (args: string[]) => (lab as Lab).cluster.kubectl(args);
const view = (name: string) => page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name });

beforeAll(async () => {
  buildApp();
  dir = await mkdtemp(join(tmpdir(), 'ef-e2e-install-'));
  keyring = await TestKeyring.start();
  lab = await Lab.start({ kwokNodes: 1 });
  ({ app, browser, page } = await openAppInChromium(dir, keyring));
}, 600_000);

afterAll(async () => {
  await tearDownE2e({ browser, app, lab, keyring, dir });
});

describe('install EdgeFleet from the Clusters view', () => {
  test('plan, install with progress per object, result; checked with kubectl', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await view('Clusters').click();
    await page.getByLabel('Kubeconfig path').fill((lab as Lab).cluster.kubeconfigPath);
    await page.getByLabel('Name (optional)').fill('bare');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const open = page
      .getByRole('row')
      .filter({ hasText: (lab as Lab).cluster.kubeconfigPath })
      .getByRole('button', { name: /^(Open|Reopen) / });
    await open.click({ timeout: 15_000 });
    await page
      .getByRole('status', { name: 'Cluster connection' })
      .getByText('Connected')
      .waitFor({ timeout: 30_000 });
    await view('Clusters').click(); // opening a cluster shows its pools

    const start = page.getByRole('button', { name: 'Install EdgeFleet…' });
    const cap = page.locator('li[data-action="edgefleet:install"]');
    await cap.waitFor({ timeout: 30_000 }).catch(async (e: Error) => {
      await shot('install-failure');
      throw new Error(`${e.message}\n--- app output ---\n${app?.output.slice(-3000)}`);
    });
    await expect
      .poll(async () => `${await cap.getAttribute('class')}: ${await cap.textContent()}`, { timeout: 30_000 })
      .toMatch(/^cap-on/);
    expect(await start.isEnabled()).toBe(true);
    await start.click();
    const panel = page.getByRole('region', { name: 'Install EdgeFleet' });
    await panel.getByLabel(/Controller image/).fill(IMAGE);
    await panel.getByLabel(/Endpoints admission webhook/).uncheck();
    await panel.getByRole('button', { name: 'Show the plan' }).click();
    const plan = panel.getByRole('table', { name: 'Install plan' });
    await plan.waitFor({ timeout: 30_000 });
    const rows = plan.locator('tbody tr');
    expect(await rows.count()).toBe(10);
    expect(await plan.locator('td.change-create').count()).toBe(10);
    await expect(kubectl(['get', 'crd', '-o', 'name'])).resolves.not.toMatch(/openyurt/);
    await shot('install-plan');

    await panel.getByRole('button', { name: 'Install', exact: true }).click();
    await panel.getByText('EdgeFleet is installed.').waitFor({ timeout: 120_000 });
    expect(await plan.locator('td.install-applied').count()).toBe(10);
    // What the account may do is asked again: pools are now served.
    await page.locator('li[data-action="nodepools:create"].cap-on').waitFor({ timeout: 30_000 });
    await shot('install-done');
    await page.getByRole('button', { name: 'Dark theme' }).click();
    await shot('install-done-dark');

    await kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=30s',
      'crd/nodepools.apps.openyurt.io',
      'crd/yurtappsets.apps.openyurt.io',
    ]);
    const image = await kubectl([
      'get',
      'deployment',
      '-n',
      'kube-system',
      'edgefleet-controller',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ]);
    expect(image).toBe(IMAGE);
    await expect(kubectl(['get', 'mutatingwebhookconfigurations', '-o', 'name'])).resolves.not.toMatch(
      /edgefleet-controller/,
    );
    expect(errors).toEqual([]);
  }, 300_000);
});
