/**
 * Operating the fleet from the UI against the real lab, each result checked with kubectl: a
 * pool created from the form, nodes put in it by selection and by drag and drop (with undo),
 * delete refused while it has members and allowed once empty, autonomy set on a pool, a
 * YurtAppSet made from the form across two pools and its image rolled out per pool, a node
 * drained and uncordoned from its page, the command palette, a read-only user's disabled
 * actions with the reason, and writes disabled while the cluster is unreachable.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LABEL_NODEPOOL } from '../../src-agent/api/labels.ts';
import { TestKeyring } from '../lab/keyring.ts';
import { Lab } from '../lab/lab.ts';
import { type BrowserApp, buildApp, openAppInChromium, tearDownE2e, until } from './app-harness.ts';
import { seedFleet, serviceAccountKubeconfig } from './fleet-lab.ts';
import { importAndOpen, openSource, viewButton } from './ui-steps.ts';

const shot = (name: string) => page.screenshot({ path: `/tmp/edgefleet-e2e-${name}.png`, fullPage: false });

let dir = '';
let lab: Lab | undefined;
let keyring: TestKeyring | undefined;
let app: BrowserApp | undefined;
let browser: Browser | undefined;
let page: Page;

const kubectl = (args: string[], input?: string) =>
  (lab as Lab).cluster.kubectl(args, input === undefined ? {} : { input });
const kubectlJson = <T>(args: string[]) => (lab as Lab).cluster.kubectlJson<T>(args);

interface Node {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { taints?: { key: string; effect: string }[]; unschedulable?: boolean };
}
const node = (name: string) => kubectlJson<Node>(['get', 'node', name]);
const poolOf = async (name: string) => (await node(name)).metadata.labels?.[LABEL_NODEPOOL];

const view = (name: string) => viewButton(page, name);
const rowOf = (table: string, name: string): Locator =>
  page
    .getByRole('table', { name: table })
    .getByRole('row')
    .filter({ has: page.getByRole('rowheader', { name, exact: true }) });
const checkbox = (n: string) => page.getByRole('checkbox', { name: `Select ${n}`, exact: true });

beforeAll(async () => {
  buildApp();
  dir = await mkdtemp(join(tmpdir(), 'ef-e2e-ops-'));
  keyring = await TestKeyring.start();
  lab = await Lab.start({ kwokNodes: 1 });
  await seedFleet(lab, ['north', 'south'], { untaint: true });
  await lab.kwok?.createNodes(2, { namePrefix: 'spare' });
  ({ app, browser, page } = await openAppInChromium(dir, keyring));
}, 600_000);

afterAll(async () => {
  await tearDownE2e({ browser, app, lab, keyring, dir });
});

describe('operating the fleet from the UI', () => {
  const errors: string[] = [];

  test('open the lab: "You can" lists what the admin may do, from the cluster itself', async () => {
    page.on('pageerror', (e) => errors.push(e.message));
    await importAndOpen(page, (lab as Lab).cluster.kubeconfigPath, 'lab');
    await view('Clusters').click();
    const caps = page.getByRole('list', { name: 'What you can do' });
    await caps.locator('li[data-action="nodepools:create"].cap-on').waitFor({ timeout: 30_000 });
    // The EdgeFleet controller runs here, so pausing a rollout is offered.
    await expect(caps.locator('li[data-action="yurtappsets:pause"]').getAttribute('class')).resolves.toBe(
      'cap-on',
    );
    await shot('capabilities');
  });

  test('create a pool from the form; assign two nodes by selection and by drag and drop (with undo)', async () => {
    await view('Node pools').click();
    await page.getByRole('button', { name: 'New pool…' }).click();
    const form = page.getByRole('form', { name: 'Create a node pool' });
    await form.getByLabel('Pool name').fill('east');
    await form.getByLabel('Labels for member nodes').fill('site.example.com/name=east');
    await form.getByLabel('Taints for member nodes').fill('site.example.com/remote=yes:PreferNoSchedule');
    await form.getByRole('button', { name: 'Create pool' }).click();
    await form.getByText('Pool east created.').waitFor({ timeout: 15_000 });
    const np = await kubectlJson<{ spec: { type: string; labels?: Record<string, string> } }>([
      'get',
      'nodepool',
      'east',
    ]);
    expect(np.spec).toMatchObject({ type: 'Edge', labels: { 'site.example.com/name': 'east' } });
    await rowOf('Node pools', 'east').waitFor({ timeout: 15_000 });

    await view('Nodes').click();
    await checkbox('spare-0').check();
    await page.getByLabel('Move to pool').selectOption('east');
    await page.getByRole('button', { name: 'Move', exact: true }).click();
    await page.getByText('1 node moved to east').waitFor({ timeout: 15_000 });
    expect(await poolOf('spare-0')).toBe('east');
    await page.getByRole('button', { name: 'clear', exact: true }).click();
    await page
      .getByRole('region', { name: 'Selected nodes' })
      .getByRole('button', { name: 'Dismiss' })
      .click();

    const target = page.locator('li[data-pool="east"]');
    await page.locator('tr[data-node="spare-1"]').dragTo(target);
    await page.getByText('1 node moved to east').waitFor({ timeout: 15_000 });
    expect(await poolOf('spare-1')).toBe('east');
    // Undo puts it back where it was (no pool), then it is dragged in again.
    await page.getByRole('button', { name: 'Undo' }).click();
    await page.getByText('Undone: put back as before.').waitFor({ timeout: 15_000 });
    expect(await poolOf('spare-1')).toBeUndefined();
    await page.locator('tr[data-node="spare-1"]').dragTo(target);
    await until('spare-1 in east again', 15_000, async () =>
      (await poolOf('spare-1')) === 'east' ? true : undefined,
    );
    await until('the UI to show both nodes in east', 15_000, async () =>
      (await rowOf('Nodes', 'spare-1').locator('td[data-col=pool]').textContent()) === 'east'
        ? true
        : undefined,
    );
    await shot('assign');
    // The controller puts the pool's labels and taints on its members.
    for (const n of ['spare-0', 'spare-1'])
      await until(`east's label and taint on ${n}`, 60_000, async () => {
        const got = await node(n);
        return got.metadata.labels?.['site.example.com/name'] === 'east' &&
          got.spec?.taints?.some((t) => t.key === 'site.example.com/remote')
          ? true
          : undefined;
      });
  });

  test('delete is refused while the pool has members (reason shown), allowed once empty', async () => {
    await view('Node pools').click();
    await page.getByRole('button', { name: 'Delete pool east' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: /east still has 2 member nodes/ });
    await refusal.waitFor({ timeout: 15_000 });
    await shot('delete-refused');
    await kubectl(['get', 'nodepool', 'east']);

    // Shift-click selects the range between two clicks.
    await view('Nodes').click();
    await checkbox('spare-0').click();
    await checkbox('spare-1').click({ modifiers: ['Shift'] });
    await expect(checkbox('spare-1').isChecked()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Remove from pool' }).click();
    await page.getByText('2 nodes taken out of their pool').waitFor({ timeout: 15_000 });
    expect(await poolOf('spare-0')).toBeUndefined();
    expect(await poolOf('spare-1')).toBeUndefined();
    await page.getByRole('button', { name: 'clear', exact: true }).click();

    await view('Node pools').click();
    await until('east to show no members', 15_000, async () =>
      (await rowOf('Node pools', 'east').locator('td[data-col=members]').textContent()) === '—'
        ? true
        : undefined,
    );
    await page.getByRole('button', { name: 'Delete pool east' }).click();
    await page.getByText('Pool east deleted.').waitFor({ timeout: 15_000 });
    await until('east gone from the API', 30_000, async () =>
      kubectl(['get', 'nodepool', 'east']).then(
        () => undefined,
        (e: Error) => /NotFound/.test(e.message) || undefined,
      ),
    );
  });

  test('autonomy on a pool: every member gets the annotation; the effect is shown', async () => {
    await page.getByRole('button', { name: 'Autonomy for pool north' }).click();
    const panel = page.getByRole('region', { name: 'Autonomy for every node of north' });
    await panel.getByLabel('Keep pods for').fill('2h');
    await panel.getByRole('button', { name: 'Set autonomy' }).click();
    await panel.getByText(/2 nodes autonomy set to 2h.*7200 s/).waitFor({ timeout: 15_000 });
    // kwok nodes run no hub: the UI says autonomy would not work there.
    await panel.getByText(/north-0: no Autonomy condition/).waitFor();
    for (const n of ['north-0', 'north-1'])
      expect((await node(n)).metadata.annotations?.['node.openyurt.io/autonomy-duration']).toBe('2h');
    await shot('autonomy');
  });

  test('a YurtAppSet from the form across two pools; a new image rolls out per pool on screen', async () => {
    await view('Apps').click();
    await page.getByRole('button', { name: 'New app from a form…' }).click();
    const form = page.getByRole('form', { name: 'Create a YurtAppSet from a form' });
    await form.getByLabel('App name').fill('web');
    await form.getByLabel('Image', { exact: true }).fill('web:v1');
    await form.getByLabel('Replicas per pool').fill('1');
    await form.getByLabel('Ports').fill('http:8080');
    await form.getByRole('checkbox', { name: 'north' }).check();
    await form.getByRole('checkbox', { name: 'south' }).check();
    await form.getByLabel('Replicas in south').fill('2');
    await form.getByRole('button', { name: 'Create app' }).click();
    await form.getByText('YurtAppSet default/web created.').waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'New app from a form…' }).click();

    const panel = page.getByRole('region', { name: 'App default/web' });
    const cell = (pool: string, col: string) =>
      panel.locator(`tr[data-pool="${pool}"] td[data-col=${col}]`).textContent();
    await until('web ready in both pools', 120_000, async () =>
      (await cell('north', 'ready')) === '1 / 1' &&
      (await cell('south', 'ready')) === '2 / 2' &&
      (await cell('north', 'updated'))?.trim() === '1 / 1'
        ? true
        : undefined,
    );
    // South cordoned: its new pods cannot start, so the screen must show north updated while
    // south is still rolling (kwok starts pods in milliseconds, too fast to watch otherwise).
    await kubectl(['cordon', 'south-0', 'south-1']);
    await panel.getByLabel('New image').fill('web:v2');
    await panel.getByRole('button', { name: 'Roll out' }).click();
    await panel.getByText(/Image set to web:v2/).waitFor({ timeout: 15_000 });
    await until('north updated while south is not, on screen', 120_000, async () =>
      (await cell('north', 'rollout')) === 'Updated' &&
      (await cell('north', 'updated'))?.trim() === '1 / 1' &&
      (await cell('south', 'rollout')) !== 'Updated'
        ? true
        : undefined,
    );
    await shot('rollout-progress');
    await kubectl(['uncordon', 'south-0', 'south-1']);
    await until('both pools updated to web:v2 on screen', 180_000, async () =>
      (await cell('north', 'rollout')) === 'Updated' &&
      (await cell('south', 'rollout')) === 'Updated' &&
      (await cell('south', 'updated'))?.trim() === '2 / 2'
        ? true
        : undefined,
    );
    await shot('rollout-done');
    const deps = await kubectlJson<{
      items: { spec: { template: { spec: { containers: { image: string }[] } } } }[];
    }>(['get', 'deployments', '-n', 'default', '-l', 'apps.openyurt.io/ref-yurtappset=web']);
    expect(deps.items.map((d) => d.spec.template.spec.containers[0]?.image)).toEqual(['web:v2', 'web:v2']);
  });

  test('pause a rollout: a new image is held in every pool on screen (the Deployments keep the old one); resume: it rolls out', async () => {
    const panel = page.getByRole('region', { name: 'App default/web' });
    const cell = (pool: string, col: string) =>
      panel.locator(`tr[data-pool="${pool}"] td[data-col=${col}]`).textContent();
    const images = async () =>
      (
        await kubectlJson<{ items: { spec: { template: { spec: { containers: { image: string }[] } } } }[] }>(
          ['get', 'deployments', '-n', 'default', '-l', 'apps.openyurt.io/ref-yurtappset=web'],
        )
      ).items.map((d) => d.spec.template.spec.containers[0]?.image);
    await panel.getByRole('button', { name: 'Pause rollout' }).click();
    await panel.getByText('Paused: no pool changes until it is resumed').waitFor({ timeout: 60_000 });
    const annotations = async () =>
      (
        await kubectlJson<{ metadata: { annotations?: Record<string, string> } }>([
          'get',
          'yurtappsets.apps.openyurt.io',
          'web',
          '-n',
          'default',
        ])
      ).metadata.annotations ?? {};
    expect((await annotations())['apps.edgefleet.io/rollout-paused']).toBe('true');
    await panel.getByLabel('New image').fill('web:v3');
    await panel.getByRole('button', { name: 'Roll out' }).click();
    await panel.getByText(/Image set to web:v3/).waitFor({ timeout: 15_000 });
    // The controller read the new template and holds it: both pools say so.
    await until('both pools held on screen', 60_000, async () =>
      (await cell('north', 'rollout')) === 'Held: the rollout is paused' &&
      (await cell('south', 'rollout')) === 'Held: the rollout is paused'
        ? true
        : undefined,
    );
    expect(await images()).toEqual(['web:v2', 'web:v2']);
    await shot('rollout-paused');
    await panel.getByRole('button', { name: 'Resume rollout' }).click();
    await until('both pools updated to web:v3 on screen', 180_000, async () =>
      (await cell('north', 'rollout')) === 'Updated' &&
      (await cell('south', 'rollout')) === 'Updated' &&
      (await cell('south', 'updated'))?.trim() === '2 / 2'
        ? true
        : undefined,
    );
    expect(await images()).toEqual(['web:v3', 'web:v3']);
    expect((await annotations())['apps.edgefleet.io/rollout-paused']).toBeUndefined();
  });

  test('drain a node from its page: pods evicted per pod, node cordoned; uncordon', async () => {
    await view('Nodes').click();
    await rowOf('Nodes', 'south-0').getByRole('button', { name: 'south-0' }).click();
    await page.getByRole('heading', { name: 'Node south-0' }).waitFor();
    const before = await kubectlJson<{ items: { metadata: { name: string } }[] }>([
      'get',
      'pods',
      '-n',
      'default',
      '--field-selector=spec.nodeName=south-0',
    ]);
    expect(before.items.length).toBeGreaterThan(0);
    await page.getByRole('table', { name: 'Pods on south-0' }).waitFor();
    await page.getByRole('button', { name: 'Drain', exact: true }).click();
    const progress = page.getByRole('region', { name: 'Drain of south-0' });
    await progress.locator('output[data-state="done"]').waitFor({ timeout: 120_000 });
    const statuses = await progress.locator('td[data-col=status]').allTextContents();
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((t) => t.startsWith('evicted'))).toBe(true);
    await shot('drain');
    expect((await node('south-0')).spec?.unschedulable).toBe(true);
    await until('no pods left on south-0', 60_000, async () => {
      const left = await kubectlJson<{ items: unknown[] }>([
        'get',
        'pods',
        '-n',
        'default',
        '--field-selector=spec.nodeName=south-0',
      ]);
      return left.items.length === 0 ? true : undefined;
    });
    await page.getByRole('button', { name: 'Uncordon' }).click();
    await page.getByText('1 node uncordoned').waitFor({ timeout: 15_000 });
    expect((await node('south-0')).spec?.unschedulable).toBeUndefined();
    await page.getByRole('button', { name: 'Cordon', exact: true }).waitFor({ timeout: 15_000 });
  });

  test('Ctrl+K: jump to a node by name; dark theme stays readable', async () => {
    await page.keyboard.press('Control+k');
    const input = page.getByPlaceholder('Node, pool, app or view…');
    await input.fill('north-1');
    await page.getByRole('option', { name: 'Open node north-1' }).waitFor();
    await page.getByRole('option', { name: 'Cordon north-1' }).waitFor();
    await shot('palette');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Node north-1' }).waitFor();
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    await shot('node-page-dark');
    await page.getByRole('button', { name: 'Switch to light theme' }).click();
    expect(errors).toEqual([]);
  });

  test('a read-only user (RBAC) sees the actions disabled with the reason', async () => {
    const name = 'ui-readonly';
    const path = await serviceAccountKubeconfig(lab as Lab, dir, name, [
      { apiGroups: [''], resources: ['nodes', 'pods', 'services'], verbs: ['get', 'list', 'watch'] },
      {
        apiGroups: ['apps.openyurt.io'],
        resources: ['nodepools', 'yurtappsets'],
        verbs: ['get', 'list', 'watch'],
      },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch'] },
    ]);
    await importAndOpen(page, path, 'read-only');
    await view('Node pools').click();
    const create = page.getByRole('button', { name: 'New pool…' });
    await until('create disabled with the RBAC reason', 30_000, async () =>
      (await create.isDisabled()) ? true : undefined,
    );
    await page
      .getByRole('note')
      .filter({ hasText: /may not create nodepools\.apps\.openyurt\.io/ })
      .first()
      .waitFor({ timeout: 15_000 });
    expect(await create.getAttribute('title')).toMatch(/may not create nodepools/);
    await expect(page.getByRole('button', { name: 'Delete pool north' }).isDisabled()).resolves.toBe(true);
    await shot('readonly');
    await view('Clusters').click();
    await page
      .getByRole('list', { name: 'What you can do' })
      .getByText(/Signed in as|create node pools/)
      .first()
      .waitFor();
    await expect(page.locator('.capabilities li.cap-on').count()).resolves.toBe(0);
    await shot('readonly-capabilities');
  });

  test('cluster unreachable: writes are disabled, saying why (nothing is queued)', async () => {
    await openSource(page, (lab as Lab).cluster.kubeconfigPath);
    await view('Node pools').click();
    await page.getByRole('button', { name: 'New pool…' }).isEnabled();
    await (lab as Lab).cluster.processes.stop('kube-apiserver');
    await page
      .getByRole('status', { name: 'Cluster connection' })
      .getByText(/Unreachable/)
      .waitFor({ timeout: 90_000 });
    const create = page.getByRole('button', { name: 'New pool…' });
    await expect(create.isDisabled()).resolves.toBe(true);
    await page
      .getByRole('note')
      .filter({ hasText: /unreachable.*nothing is queued/ })
      .first()
      .waitFor();
    await shot('offline');
  });
});
