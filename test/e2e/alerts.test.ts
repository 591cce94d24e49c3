/**
 * Alerts evaluated by the app itself (no Prometheus) against the real lab, in Debian's Chromium
 * with the real main-process services: two nspawn hosts run the lab's kubelet stand-in (NOT a
 * kubelet, see test/lab/fixtures/kubelet-standin.sh) in one pool. edge-1 carries autonomy (the
 * annotation, and the Autonomy condition a converted node's hub reports, written here with kubectl
 * — the hub writing it is shown in provision.test.ts), edge-2 none. With the offline thresholds set
 * to 0 minutes in the app's form, cutting both hosts' links fires "cut off but autonomous" for
 * edge-1 and "offline and not autonomous" for edge-2 (and the pool's alert), in the banner and in
 * the Alerts view; restoring resolves them. A hub node report written as the annotation raises the
 * tunnel alert; a malformed one is listed as ignored with the reason. Counts are checked against
 * kubectl.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ANNOTATION_AUTONOMY_DURATION,
  CONDITION_AUTONOMY,
  LABEL_NODEPOOL,
} from '../../src-agent/api/labels.ts';
import { ANNOTATION_NODE_REPORT, type NodeReport } from '../../src-agent/api/node-report.ts';
import { installCrds } from '../lab/controller-support.ts';
import { installKubeletStandin, waitNodeReady } from '../lab/fixtures/kubelet-standin.ts';
import { TestKeyring } from '../lab/keyring.ts';
import { Lab } from '../lab/lab.ts';
import { type BrowserApp, buildApp, openAppInChromium, tearDownE2e, until } from './app-harness.ts';
import { importAndOpen, viewButton } from './ui-steps.ts';

const POOL = 'site-alerts';
const HOSTS = ['edge-1', 'edge-2'] as const;

let dir = '';
let lab: Lab | undefined;
let keyring: TestKeyring | undefined;
let app: BrowserApp | undefined;
let browser: Browser | undefined;
let page: Page;

const kubectl = (args: string[], input?: string) =>
  (lab as Lab).cluster.kubectl(args, input === undefined ? {} : { input });

interface NodeJson {
  metadata: { name: string; labels?: Record<string, string> };
  status?: { conditions?: { type: string; status: string }[] };
}
/** What kube-apiserver says: nodes not Ready, and which of those have Autonomy=True. */
async function truth(): Promise<{
  down: string[];
  autonomous: string[];
  poolReady: number;
  poolSize: number;
}> {
  const list = await (lab as Lab).cluster.kubectlJson<{ items: NodeJson[] }>(['get', 'nodes']);
  const is = (n: NodeJson, type: string) =>
    n.status?.conditions?.some((c) => c.type === type && c.status === 'True');
  const down = list.items.filter((n) => !is(n, 'Ready'));
  const pool = list.items.filter((n) => n.metadata.labels?.[LABEL_NODEPOOL] === POOL);
  return {
    down: down.map((n) => n.metadata.name).sort(),
    autonomous: down.filter((n) => is(n, 'Autonomy')).map((n) => n.metadata.name),
    poolReady: pool.filter((n) => is(n, 'Ready')).length,
    poolSize: pool.length,
  };
}

const table = () => page.getByRole('table', { name: 'Alerts' });
const alertRow = (rule: string, object: string): Locator =>
  table()
    .locator(`tr[data-alert=${rule}]`)
    .filter({ has: page.getByRole('button', { name: object, exact: true }) });
const banner = () => page.getByRole('alert', { name: 'Alerts firing' });
const stateOf = async (rule: string, object: string) => {
  const row = alertRow(rule, object);
  return (await row.count()) === 1 ? row.getAttribute('data-state') : null;
};

function report(patch: Partial<NodeReport>): string {
  const r: NodeReport = {
    v: 1,
    at: new Date().toISOString(),
    agentVersion: 'e2e',
    cache: { bytes: 1_000_000, health: 'Ready' },
    disk: { freeBytes: 50e9, totalBytes: 100e9 },
    journal: { depth: 0, bound: 10_000, dropped: 0 },
    offlineSeconds24h: 0,
    tunnel: 'connected',
    ...patch,
  };
  return JSON.stringify(r);
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('lab tests need root');
  buildApp();
  dir = await mkdtemp(join(tmpdir(), 'ef-e2e-alerts-'));
  keyring = await TestKeyring.start();
  lab = await Lab.start({ hosts: 2, kwokNodes: 0 });
  await installCrds(lab.cluster);
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'apps.openyurt.io/v1beta2',
      kind: 'NodePool',
      metadata: { name: POOL },
      spec: { type: 'Edge' },
    }),
  );
  for (const name of HOSTS) {
    await installKubeletStandin(lab, lab.host(name));
    await waitNodeReady(lab, name);
    await kubectl(['label', 'node', name, `${LABEL_NODEPOOL}=${POOL}`, '--overwrite']);
  }
  // What a converted node's hub says when autonomy will hold: the annotation, and Autonomy=True.
  await kubectl(['annotate', 'node', 'edge-1', `${ANNOTATION_AUTONOMY_DURATION}=0`, '--overwrite']);
  await kubectl([
    'patch',
    'node',
    'edge-1',
    '--subresource=status',
    '--type=strategic',
    '-p',
    JSON.stringify({
      status: {
        conditions: [
          {
            type: CONDITION_AUTONOMY,
            status: 'True',
            reason: 'AutonomyReady',
            message: 'e2e: written as the hub would',
            lastHeartbeatTime: new Date().toISOString(),
            lastTransitionTime: new Date().toISOString(),
          },
        ],
      },
    }),
  ]);
  ({ app, browser, page } = await openAppInChromium(dir, keyring, { width: 1440, height: 900 }));
}, 600_000);

afterAll(async () => {
  await tearDownE2e({ browser, app, lab, keyring, dir });
});

describe('alerts', () => {
  const errors: string[] = [];

  test('the Alerts view opens quiet, and thresholds set in the form are saved for this cluster', async () => {
    page.on('pageerror', (e) => errors.push(e.message));
    await importAndOpen(page, (lab as Lab).cluster.kubeconfigPath, 'lab');
    await viewButton(page, 'Alerts').click();
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    await page.getByText('No alert: every rule is quiet in this cluster.').waitFor({ timeout: 30_000 });
    expect((await truth()).down).toEqual([]);
    await expect(banner().count()).resolves.toBe(0);

    await page.getByText('Thresholds for this cluster').click();
    const form = page.getByRole('form', { name: 'Alert thresholds' });
    await form.getByLabel('Node cut off but autonomous: for, minutes').fill('0');
    await form.getByLabel('Node offline and not autonomous (pods will be evicted): for, minutes').fill('0');
    await form.getByLabel('Pool below its share of ready nodes: for, minutes').fill('0');
    await form.getByLabel('Tunnel agent disconnected: for, minutes').fill('0');
    // Refused in the form before it is sent: out of the rule's bounds.
    await form.getByLabel('Pool below its share of ready nodes: Ready nodes below').fill('500');
    await form.getByText('ready nodes below must be a whole number from 1 to 100 %').waitFor();
    await expect(form.getByRole('button', { name: 'Save thresholds' }).isDisabled()).resolves.toBe(true);
    await form.getByLabel('Pool below its share of ready nodes: Ready nodes below').fill('80');
    await form.getByRole('button', { name: 'Save thresholds' }).click();
    await form.getByRole('status', { name: 'Thresholds saved' }).waitFor({ timeout: 15_000 });
    const settings = JSON.parse(
      await readFile(join((app as BrowserApp).configHome, 'edgefleet', 'settings.json'), 'utf8'),
    );
    const saved = Object.values(
      settings.alertRules as Record<string, Record<string, { forMinutes: number }>>,
    );
    expect(saved).toHaveLength(1);
    expect(saved[0]?.EdgeFleetNodeOfflineAutonomous?.forMinutes).toBe(0);
    expect(saved[0]?.EdgeFleetNodeOfflineNotAutonomous?.forMinutes).toBe(0);
  });

  test('hosts cut off: the offline alerts fire (autonomous and not, separately) in the banner and the view; restored: resolved', async () => {
    const l = lab as Lab;
    for (const h of HOSTS) await l.host(h).cut();
    try {
      const t = await until(
        'kube-controller-manager to mark both nodes not ready (kubectl)',
        120_000,
        async () => {
          const x = await truth();
          return x.down.length === 2 ? x : undefined;
        },
      );
      expect(t.autonomous).toEqual(['edge-1']);
      // One alert per node down, plus the pool (0 of 2 ready is below 80 %): as many as kubectl implies.
      const expected = t.down.length + (t.poolReady * 100 < 80 * t.poolSize ? 1 : 0);
      await until(`the banner to count ${expected} alerts firing`, 90_000, async () =>
        (await banner().count()) === 1 &&
        (await banner().locator('[data-field=banner-count]').textContent())?.startsWith(
          `${expected} alerts firing`,
        )
          ? true
          : undefined,
      );
      await until('the Alerts view to list both nodes firing under their own rule', 30_000, async () =>
        (await stateOf('EdgeFleetNodeOfflineAutonomous', 'Node edge-1')) === 'firing' &&
        (await stateOf('EdgeFleetNodeOfflineNotAutonomous', 'Node edge-2')) === 'firing' &&
        (await stateOf('EdgeFleetPoolBelowReady', `NodePool ${POOL}`)) === 'firing'
          ? true
          : undefined,
      );
      // Never the other rule for the same node: the one node-state rule decides which.
      await expect(alertRow('EdgeFleetNodeOfflineNotAutonomous', 'Node edge-1').count()).resolves.toBe(0);
      await expect(alertRow('EdgeFleetNodeOfflineAutonomous', 'Node edge-2').count()).resolves.toBe(0);
      await expect(table().locator('tr[data-state=firing]').count()).resolves.toBe(expected);
      const pool = alertRow('EdgeFleetPoolBelowReady', `NodePool ${POOL}`);
      await expect(pool.locator('td[data-col=summary]').textContent()).resolves.toBe(
        `Pool ${POOL}: 0 of 2 nodes ready (0 %, below 80 %).`,
      );
      await expect(pool.getByRole('button', { name: 'Node edge-1', exact: true }).count()).resolves.toBe(1);
      await expect(pool.getByRole('button', { name: 'Node edge-2', exact: true }).count()).resolves.toBe(1);
      await page.getByText('Thresholds for this cluster').click(); // folded, so the list shows
      await page.screenshot({ path: '/tmp/edgefleet-e2e-alerts.png', fullPage: false });

      // The node link opens its node page, which agrees.
      await alertRow('EdgeFleetNodeOfflineAutonomous', 'Node edge-1')
        .getByRole('button', { name: 'Node edge-1', exact: true })
        .click();
      await page.getByRole('heading', { name: 'Node edge-1' }).waitFor({ timeout: 15_000 });
      await page.getByText('Cut off, autonomous').first().waitFor();
      await viewButton(page, 'Alerts').click();
    } finally {
      for (const h of HOSTS) await l.host(h).restore();
    }
    await until('both nodes Ready again (kubectl)', 120_000, async () =>
      (await truth()).down.length === 0 ? true : undefined,
    );
    await until('the banner to go', 60_000, async () => ((await banner().count()) === 0 ? true : undefined));
    await page.getByLabel('Alerts in state').selectOption('resolved');
    await until('the three alerts listed as resolved', 30_000, async () =>
      (await stateOf('EdgeFleetNodeOfflineAutonomous', 'Node edge-1')) === 'resolved' &&
      (await stateOf('EdgeFleetNodeOfflineNotAutonomous', 'Node edge-2')) === 'resolved' &&
      (await stateOf('EdgeFleetPoolBelowReady', `NodePool ${POOL}`)) === 'resolved'
        ? true
        : undefined,
    );
    await page.getByLabel('Alerts in state').selectOption('active');
    await expect(page.locator('[data-field=alert-counts]').textContent()).resolves.toBe(
      '0 firing, 0 pending',
    );
  });

  test('a hub node report raises its alert; a malformed one is ignored with the reason; the banner can be dismissed', async () => {
    await kubectl([
      'annotate',
      'node',
      'edge-2',
      `${ANNOTATION_NODE_REPORT}=${report({ tunnel: 'disconnected' })}`,
      '--overwrite',
    ]);
    await kubectl(['annotate', 'node', 'edge-1', `${ANNOTATION_NODE_REPORT}={"v":1,"at":`, '--overwrite']);
    await until('the tunnel alert firing for edge-2', 60_000, async () =>
      (await stateOf('EdgeFleetTunnelAgentDisconnected', 'Node edge-2')) === 'firing' ? true : undefined,
    );
    const problems = page.locator('[data-field=report-problems]');
    await problems.waitFor({ timeout: 30_000 });
    await problems.locator('summary').click();
    await expect(problems.textContent()).resolves.toContain(
      'Node edge-1: edgefleet.io/node-report is not JSON',
    );
    await banner().getByRole('button', { name: 'Dismiss' }).click();
    await expect(banner().count()).resolves.toBe(0);

    await kubectl([
      'annotate',
      'node',
      'edge-2',
      `${ANNOTATION_NODE_REPORT}=${report({ tunnel: 'connected' })}`,
      '--overwrite',
    ]);
    await kubectl(['annotate', 'node', 'edge-1', `${ANNOTATION_NODE_REPORT}-`]);
    await until('the tunnel alert resolved and the problem gone', 60_000, async () =>
      (await stateOf('EdgeFleetTunnelAgentDisconnected', 'Node edge-2')) === null &&
      (await problems.count()) === 0
        ? true
        : undefined,
    );
    expect(errors).toEqual([]);
  });
});
