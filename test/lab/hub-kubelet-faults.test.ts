import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { KubeletNode } from './kubelet.ts';
import {
  HUB_URL,
  hubMetricsOn,
  startHubOn,
  startKubeletBehindHub,
  stopKubeletBehindHub,
} from './kubelet-hub.ts';
import { Lab } from './lab.ts';
import type { HostLink } from './net.ts';
import { until } from './until.ts';

/**
 * Faults found by the link-flap soak (issues 15/16), with the real kubelet behind the hub in the
 * node's network namespace: (1) kubelet's Lease renewals across hub restarts offline and online
 * never get a 5xx (kubelet sends them as protobuf); (2) a real link cut (iptables DROP: no error,
 * only silence) — cacheable GETs and LISTs in flight at the cut and after it are answered from the
 * cache within 1 s of the cut, because a request that gets no answer proves the cut.
 */
const NODE = 'kube-2';
const KUBELET_UA = 'kubelet/v1.36.3 (linux/amd64) kubernetes/lab';

let lab: Lab | undefined;
let node: KubeletNode | undefined;
let link: HostLink | undefined;
let hubConfigPath = '';
const log = (line: string) => process.stderr.write(`${line}\n`);
const theNode = () => node as KubeletNode;
const kubectl = (args: string[]) => (lab as Lab).cluster.kubectl(args);

const hubMetrics = () => hubMetricsOn(theNode());
/** edgefleet_hub_requests_total for kubelet, summed over the series matching `filter`. */
function kubeletRequests(m: Map<string, number>, filter: (series: string) => boolean): number {
  let n = 0;
  for (const [k, v] of m)
    if (k.startsWith('edgefleet_hub_requests_total{') && k.includes('component="kubelet"') && filter(k))
      n += v;
  return n;
}
const leaseRenewalsOk = (m: Map<string, number>) =>
  kubeletRequests(
    m,
    (k) => k.includes('resource="leases"') && k.includes('verb="update"') && k.includes('code="200"'),
  );
const kubelet5xx = (m: Map<string, number>) => kubeletRequests(m, (k) => /code="5\d\d"/.test(k));

const hubLog = () => readFile(join(theNode().logDir, 'hub.log'), 'utf8').catch(() => '');

const startHub = () => startHubOn(theNode(), hubConfigPath);

const cloudHealthy = async () => (await hubMetrics()).get('edgefleet_hub_cloud_healthy') === 1;

/**
 * Restarts the hub and waits for kubelet to renew its Lease through the new one twice (kubelet
 * renews every 10 s); returns the new hub's metrics and the log lines it wrote.
 */
async function restartHubAndWatchRenewals(): Promise<{ metrics: Map<string, number>; log: string }> {
  const logBefore = (await hubLog()).length;
  await theNode().stopInside('hub');
  await startHub();
  const metrics = await until(
    'kubelet to renew its Lease twice through the restarted hub',
    60_000,
    async () => {
      const m = await hubMetrics();
      return leaseRenewalsOk(m) >= 2 ? m : undefined;
    },
  );
  return { metrics, log: (await hubLog()).slice(logBefore) };
}

const renewTime = async () =>
  (await kubectl(['get', 'lease', '-n', 'kube-node-lease', NODE, '-o', 'jsonpath={.spec.renewTime}'])).trim();

beforeAll(async () => {
  lab = await Lab.start({ log });
  ({ node, link, hubConfigPath } = await startKubeletBehindHub(lab, NODE, 102, log));
  await startHub();
  await until(`node ${NODE} Ready through the hub`, 180_000, async () =>
    (await theNode().isReady((lab as Lab).cluster.binaries.kubectl)) ? true : undefined,
  );
}, 600_000);

afterAll(() => stopKubeletBehindHub(lab, node, link, log), 180_000);

describe('hub faults with the real kubelet', () => {
  test("kubelet's Lease renewals get no 5xx across hub restarts offline and online; the Lease keeps renewing", async () => {
    await link?.cutLink();
    await until('the hub to see the cut', 30_000, async () => ((await cloudHealthy()) ? undefined : true));
    const offline = await restartHubAndWatchRenewals();
    expect(kubelet5xx(offline.metrics)).toBe(0);
    expect(offline.log).not.toContain('hub.request_failed');
    expect(offline.metrics.get('edgefleet_hub_cloud_healthy')).toBe(0);

    await link?.restoreLink();
    await until('the hub back online', 60_000, async () => ((await cloudHealthy()) ? true : undefined));
    const online = await restartHubAndWatchRenewals();
    expect(kubelet5xx(online.metrics)).toBe(0);
    expect(online.log).not.toContain('hub.request_failed');
    // The Lease in the cloud keeps being renewed (the hub renews it every 5 s here).
    const first = await renewTime();
    await until('the Lease renewed in the cloud', 30_000, async () =>
      (await renewTime()) !== first ? true : undefined,
    );
    expect(await theNode().isReady((lab as Lab).cluster.binaries.kubectl)).toBe(true);
  }, 300_000);

  test('a real link cut: cacheable GETs and LISTs are answered from the cache within 1 s of the cut', async () => {
    await until('the hub online', 60_000, async () => ((await cloudHealthy()) ? true : undefined));
    // Probes from inside the node: one every 100 ms, alternating a GET and a LIST, each
    // bounded (curl --max-time 5); each line: start (ms since epoch), HTTP code, seconds taken.
    // (kubelet's own reads: its Node, and the Services it lists for pods' environment variables.)
    const paths = [`/api/v1/nodes/${NODE}`, '/api/v1/services'];
    const script = [
      'for i in $(seq 1 40); do',
      '  if [ $((i % 2)) -eq 0 ]; then p="$P0"; else p="$P1"; fi',
      '  s=$(date +%s%3N)',
      `  r=$(curl -s -o /dev/null -A "$UA" --max-time 5 -w '%{http_code} %{time_total}' "${HUB_URL}$p")`,
      '  echo "$s $r"',
      '  sleep 0.1',
      'done',
    ].join('\n');
    const probing = theNode().inside('env', [
      `P0=${paths[0]}`,
      `P1=${paths[1]}`,
      `UA=${KUBELET_UA}`,
      'sh',
      '-c',
      script,
    ]);
    await sleep(1_500);
    // The cut counts from when the DROP rules are in place (cutLink resolved), the later bound.
    const cutStart = Date.now();
    await link?.cutLink();
    const cutAt = Date.now();
    log(`[hub-faults] cutLink took ${cutAt - cutStart} ms`);
    const out = await probing;
    const probes = out
      .trim()
      .split('\n')
      .map((l) => {
        const [start, code, secs] = l.trim().split(/\s+/);
        return { start: Number(start), code, end: Number(start) + Number(secs) * 1000 };
      });
    const afterCut = probes.filter((p) => p.end >= cutAt);
    log(`[hub-faults] ${probes.length} probes, ${afterCut.length} answered after the cut`);
    for (const p of afterCut)
      log(`[hub-faults] +${p.start - cutAt} ms ${p.code} answered at +${Math.round(p.end - cutAt)} ms`);
    expect(probes.every((p) => p.code === '200')).toBe(true);
    expect(afterCut.length).toBeGreaterThan(10);
    // Each answered within 1 s of the cut, or of its own start when it started later.
    for (const p of afterCut) expect(p.end - Math.max(p.start, cutAt)).toBeLessThanOrEqual(1_000);
    const m = await hubMetrics();
    expect(m.get('edgefleet_hub_cloud_healthy')).toBe(0);
    expect(kubelet5xx(m)).toBe(0);
    await link?.restoreLink();
    await until('the hub back online after the cut', 60_000, async () =>
      (await cloudHealthy()) ? true : undefined,
    );
  }, 180_000);
});
