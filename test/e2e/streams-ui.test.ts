/**
 * Pod logs and a pod shell from the node page, against a lab whose real kubelet runs the pod
 * (lab-app, with a shell added: images.ts `buildShellAppImage`): a line the container printed,
 * a line written after opening (follow), search narrowing the lines, `echo $((6*7))` answered 42
 * in the terminal, and a viewport resize the pod sees (`stty size`). Then the journal of a stand-in
 * edgefleet-hub on an nspawn host registered in Provisioning, on the page of the node of its name.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildShellAppImage, importImages } from '../lab/images.ts';
import { TestKeyring } from '../lab/keyring.ts';
import { Lab } from '../lab/lab.ts';
import { feedStandInHub, startStandInHub } from '../lab/streams-support.ts';
import { type BrowserApp, buildApp, openAppInChromium, tearDownE2e, until } from './app-harness.ts';
import { addHostInUi, importAndOpen, trustHostKeyInUi, viewButton } from './ui-steps.ts';

const KUBE = 'kube-1';
const EDGE = 'edge-1';
const POD = 'ui-app';

let dir = '';
let lab: Lab | undefined;
let keyring: TestKeyring | undefined;
let app: BrowserApp | undefined;
let browser: Browser | undefined;
let page: Page;

const shot = (name: string) => page.screenshot({ path: `/tmp/edgefleet-e2e-${name}.png`, fullPage: false });
const kubectl = (args: string[]) => (lab as Lab).cluster.kubectl(args, { timeoutMs: 30_000 });
/** A request to the pod's server from inside the pod: lab-app logs one line per request. */
const request = (path: string) => kubectl(['exec', POD, '--', '/lab-app', 'get', '127.0.0.1', '8080', path]);

const logView = () => page.getByRole('log', { name: `Log of ${POD} / ${POD}` });
const logLines = async () => (await logView().locator('.log-line').allTextContents()).map((t) => t.trim());
/** The terminal's rows as text (xterm's DOM renderer draws one div per row). */
const openNodePage = async (name: string) => {
  await viewButton(page, 'Nodes').click();
  await page.getByRole('table', { name: 'Nodes' }).getByRole('button', { name, exact: true }).click();
  await page.getByRole('heading', { name: `Node ${name}` }).waitFor();
};
const terminalRows = async () =>
  (await page.locator('.terminal-host .xterm-rows > div').allTextContents()).map((t) =>
    t.replace(/\u00a0/g, ' ').trimEnd(),
  );

beforeAll(async () => {
  buildApp();
  dir = await mkdtemp(join(tmpdir(), 'ef-e2e-streams-'));
  keyring = await TestKeyring.start();
  lab = await Lab.start({ hosts: 1, kubelets: 1 });
  await startStandInHub(lab.host(EDGE));
  // The host as a cluster sees it: a Node of the host's name (no kubelet behind it; its page is what counts).
  await (lab as Lab).cluster.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: EDGE } }),
  });
  const image = await buildShellAppImage();
  await importImages(lab.kubelet(KUBE).containerdSocket, [image]);
  await kubectl([
    'run',
    POD,
    `--image=${image.ref}`,
    '--image-pull-policy=Never',
    `--overrides=${JSON.stringify({ spec: { nodeName: KUBE, terminationGracePeriodSeconds: 2 } })}`,
  ]);
  await until('the pod to run', 120_000, async () => {
    const p = await (lab as Lab).cluster.kubectlJson<{
      status: { containerStatuses?: { ready: boolean }[] };
    }>(['get', 'pod', POD]);
    return p.status.containerStatuses?.[0]?.ready ? true : undefined;
  });
  ({ app, browser, page } = await openAppInChromium(dir, keyring));
}, 900_000);

afterAll(async () => {
  await tearDownE2e({ browser, app, lab, keyring, dir });
});

describe('pod logs and a shell from the node page', () => {
  const errors: string[] = [];

  test('logs: a line the container printed, a line written after opening (follow), search', async () => {
    page.on('pageerror', (e) => errors.push(e.message));
    await importAndOpen(page, (lab as Lab).cluster.kubeconfigPath, 'lab');
    await request('/before-open');
    await viewButton(page, 'Nodes').click();
    await page.getByRole('table', { name: 'Nodes' }).getByRole('button', { name: KUBE, exact: true }).click();
    await page.getByRole('heading', { name: `Node ${KUBE}` }).waitFor();
    const logs = page.getByRole('button', { name: `Logs of ${POD}` });
    await until('Logs to be offered (capabilities checked)', 30_000, async () =>
      (await logs.isEnabled()) ? true : undefined,
    );
    await logs.click();
    const panel = page.getByRole('region', { name: `Logs of pod default/${POD}` });
    await panel.waitFor();
    await until('the container’s first line', 30_000, async () =>
      (await logLines()).some((l) => l.endsWith(`lab-app: listening on :8080 as ${POD}`)) ? true : undefined,
    );
    // Timestamps are on: kubelet's time, to the millisecond, before the text.
    expect((await logLines())[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}lab-app: listening/);
    await panel
      .locator('output[data-state="live"]')
      .getByText(/Following/)
      .waitFor();

    await request('/after-open');
    await until('a line written after opening', 30_000, async () =>
      (await logLines()).some((l) => l.includes('GET /after-open')) ? true : undefined,
    );
    const all = (await logLines()).length;
    expect(all).toBeGreaterThanOrEqual(3);

    await panel.getByLabel('Search').fill('after-OPEN');
    await until('search to narrow the lines', 15_000, async () => {
      const shown = await logLines();
      return shown.length === 1 && shown[0]?.includes('GET /after-open') ? true : undefined;
    });
    await expect(logView().locator('mark').allTextContents()).resolves.toEqual(['after-open']);
    await expect(panel.getByRole('status', { name: 'Line count' }).textContent()).resolves.toMatch(
      new RegExp(`^1 of ${all} lines match`),
    );
    // With context: every line again, the match still marked.
    await panel.getByLabel('Only matching lines').uncheck();
    await until('every line, one marked', 15_000, async () =>
      (await logLines()).length === all && (await logView().locator('mark').count()) === 1 ? true : undefined,
    );
    await shot('pod-logs');
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    await panel.scrollIntoViewIfNeeded();
    await shot('pod-logs-dark');
    await page.getByRole('button', { name: 'Switch to light theme' }).click();
    await panel.getByLabel('Search').fill('');
    await until('every line back', 15_000, async () =>
      (await logLines()).length === all ? true : undefined,
    );
  });

  test('shell: echo $((6*7)) answers 42; a resized viewport is the size the pod sees', async () => {
    await page.getByRole('tab', { name: 'Shell' }).click();
    const panel = page.getByRole('region', { name: `Shell of pod default/${POD}` });
    await panel.locator('output[data-state="live"]').waitFor({ timeout: 30_000 });
    const terminal = panel.getByRole('region', { name: `Shell in ${POD}` });
    await until('a prompt', 30_000, async () =>
      (await terminalRows()).some((r) => /[$#] ?$/.test(r)) ? true : undefined,
    );
    await terminal.click();
    await page.keyboard.type('echo $((6*7))');
    await page.keyboard.press('Enter');
    await until('42 on its own row', 30_000, async () =>
      (await terminalRows()).includes('42') ? true : undefined,
    );
    // Readable: the terminal's theme applies under the app's CSP (xterm's own <style> elements are blocked).
    await expect(
      page.locator('.terminal-host .xterm-rows').evaluate((el) => getComputedStyle(el).color),
    ).resolves.toBe('rgb(221, 221, 221)');

    const shownSize = async () => {
      const t = (await panel.locator('[data-field="terminal-size"]').textContent()) ?? '';
      const m = /^(\d+)×(\d+)$/.exec(t);
      return m ? { cols: Number(m[1]), rows: Number(m[2]) } : undefined;
    };
    /** Asks the pod for its terminal size until it answers `want` (resize and stdin travel apart). */
    const podSees = async (want: { cols: number; rows: number }) => {
      const answer = `${want.rows} ${want.cols}`;
      await until(`the pod to see ${answer}`, 30_000, async () => {
        await page.keyboard.type('stty size');
        await page.keyboard.press('Enter');
        await new Promise((r) => setTimeout(r, 500));
        return (await terminalRows()).includes(answer) ? true : undefined;
      });
    };
    const before = await shownSize();
    if (!before) throw new Error('the panel shows no terminal size');
    await podSees(before);
    await shot('shell');

    await page.setViewportSize({ width: 1100, height: 640 });
    const after = await until('the terminal to fit the smaller panel', 15_000, async () => {
      const s = await shownSize();
      return s && s.cols < before.cols && s.rows < before.rows ? s : undefined;
    });
    await podSees(after);
    await page.setViewportSize({ width: 1366, height: 768 });

    await page.keyboard.type('exit 3');
    await page.keyboard.press('Enter');
    await panel.locator('output[data-state="ended"]').getByText('The shell ended with exit code 3.').waitFor({
      timeout: 30_000,
    });
    expect(errors).toEqual([]);
  });
  test('agent service logs: the hub journal of a registered host on its node page, followed, grep on the host', async () => {
    const l = lab as Lab;
    const host = l.host(EDGE);
    await addHostInUi(page, { site: 'lab', name: EDGE, address: host.address, privateKey: l.key.privateKey });
    await trustHostKeyInUi(page, EDGE, host.hostKeyFingerprint());
    await openNodePage(EDGE);
    const section = page.getByRole('region', { name: 'Agent service logs' });
    await section.getByRole('button', { name: 'Show hub and tunnel-agent logs' }).click();
    const journal = section.getByRole('log', { name: `Journal of edgefleet-hub on lab/${EDGE}` });
    const lines = async () => (await journal.locator('.log-line').allTextContents()).map((t) => t.trim());
    await until('the unit’s first line', 30_000, async () =>
      (await lines()).some((x) => x.endsWith('hub starting')) ? true : undefined,
    );
    await section.locator('output[data-state="live"]').waitFor({ timeout: 15_000 });
    await feedStandInHub(host, 'after open: cache warm');
    await until('a line logged after opening', 30_000, async () =>
      (await lines()).some((x) => x.endsWith('after open: cache warm')) ? true : undefined,
    );
    await section.getByLabel('Follow').uncheck();
    await section.getByLabel('Grep on the host').fill('cache warm');
    await section.getByRole('button', { name: 'Apply' }).click();
    await section.locator('output[data-state="ended"]').waitFor({ timeout: 30_000 });
    await until('only the matching entry, from the host', 15_000, async () => {
      const got = await lines();
      return got.length === 1 && got[0]?.endsWith('after open: cache warm') ? true : undefined;
    });
    await section.scrollIntoViewIfNeeded();
    await shot('service-logs');
    expect(errors).toEqual([]);
  });
});
