import { afterEach, describe, expect, it, vi } from 'vitest';
import { ANNOTATION_NODE_REPORT, type NodeReport } from '../../src-agent/api/node-report.ts';
import { rolloutCondition } from '../../src-agent/api/rollout-condition.ts';
import { type AlertRules, type AlertsDiff, defaultAlertRules } from '../ipc/alerts-types.ts';
import type { NodeWire, YurtAppSetWire } from '../ipc/types.ts';
import { AlertEngine } from './engine.ts';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const MIN = 60_000;

function node(
  name: string,
  ready: 'True' | 'Unknown',
  o: { since?: number; autonomy?: boolean; pool?: string; report?: Partial<NodeReport> | string } = {},
): NodeWire {
  const annotations: Record<string, string> = {};
  if (o.autonomy) annotations['node.openyurt.io/autonomy-duration'] = '0';
  if (o.report !== undefined)
    annotations[ANNOTATION_NODE_REPORT] = typeof o.report === 'string' ? o.report : JSON.stringify(o.report);
  return {
    name,
    labels: o.pool ? { 'apps.openyurt.io/nodepool': o.pool } : undefined,
    annotations,
    conditions: [
      { type: 'Ready', status: ready, since: new Date(o.since ?? T0 - 3_600_000).toISOString() },
      ...(o.autonomy ? [{ type: 'Autonomy', status: 'True' as const }] : []),
    ],
  };
}

function report(patch: Partial<NodeReport> = {}): NodeReport {
  return {
    v: 1,
    at: new Date(T0).toISOString(),
    agentVersion: '0.1.0',
    cache: { bytes: 1 << 20, health: 'Ready' },
    disk: { freeBytes: 50e9, totalBytes: 100e9 },
    journal: { depth: 0, bound: 1000, dropped: 0 },
    offlineSeconds24h: 0,
    tunnel: 'connected',
    ...patch,
  };
}

/** An engine over a mutable world, evaluated by hand at a mutable clock. */
function world(rules: AlertRules = defaultAlertRules()) {
  const w = {
    now: T0,
    nodes: new Map<string, NodeWire>(),
    apps: [] as YurtAppSetWire[],
    nodesState: 'synced' as 'synced' | 'forbidden',
    connected: true,
    diffs: [] as AlertsDiff[],
  };
  const engine = new AlertEngine({
    clusterId: 'src/ctx',
    rules,
    inputs: () => ({
      nodes: w.nodes.values(),
      nodesState: w.nodesState,
      yurtappsets: w.apps,
      yurtappsetsState: 'synced',
      connected: w.connected,
    }),
    onDiff: (d) => w.diffs.push(d),
    now: () => w.now,
    tickMs: 0,
  });
  const put = (...ns: NodeWire[]) => {
    for (const n of ns) w.nodes.set(n.name, n);
  };
  const alert = (id: string) => engine.snapshot().alerts.find((a) => a.id === id);
  return { w, engine, put, alert };
}

afterEach(() => vi.useRealTimers());

describe('alert engine', () => {
  it('a node offline is pending until its `for`, then fires, then resolves when it is back', () => {
    const rules = defaultAlertRules();
    const { w, engine, put, alert } = world(rules);
    put(node('edge-1', 'Unknown', { since: T0, pool: 'shop' }), node('edge-2', 'True', { pool: 'shop' }));
    engine.evaluate();
    const id = 'EdgeFleetNodeOfflineNotAutonomous/edge-1';
    expect(alert(id)).toMatchObject({
      state: 'pending',
      since: new Date(T0).toISOString(),
      severity: 'critical',
      objects: [
        { kind: 'Node', name: 'edge-1' },
        { kind: 'NodePool', name: 'shop' },
      ],
    });
    w.now = T0 + 4 * MIN;
    expect(engine.evaluate()).toBeNull();
    w.now = T0 + 5 * MIN;
    const d = engine.evaluate();
    expect(d?.fired).toEqual([id]);
    expect(alert(id)).toMatchObject({ state: 'firing', firingAt: new Date(T0 + 5 * MIN).toISOString() });
    // Level-triggered: the same state again is no news.
    w.now += MIN;
    expect(engine.evaluate()).toBeNull();
    put(node('edge-1', 'True', { since: w.now, pool: 'shop' }));
    const back = engine.evaluate();
    expect(back?.upserts.map((a) => [a.id, a.state])).toEqual([[id, 'resolved']]);
    expect(alert(id)?.resolvedAt).toBe(new Date(w.now).toISOString());
  });

  it('autonomous and not autonomous are separate rules with their own `for`', () => {
    const { w, engine, put, alert } = world();
    put(node('cam', 'Unknown', { since: T0, autonomy: true }), node('gw', 'Unknown', { since: T0 }));
    w.now = T0 + 6 * MIN;
    engine.evaluate();
    expect(alert('EdgeFleetNodeOfflineAutonomous/cam')?.state).toBe('pending');
    expect(alert('EdgeFleetNodeOfflineNotAutonomous/gw')?.state).toBe('firing');
    expect(alert('EdgeFleetNodeOfflineNotAutonomous/cam')).toBeUndefined();
    w.now = T0 + 15 * MIN;
    engine.evaluate();
    expect(alert('EdgeFleetNodeOfflineAutonomous/cam')?.state).toBe('firing');
  });

  it('a pending alert that stops holding is dropped, never shown as resolved', () => {
    const { engine, put, alert } = world();
    put(node('n', 'Unknown', { since: T0 }));
    engine.evaluate();
    put(node('n', 'True', { since: T0 }));
    const d = engine.evaluate();
    expect(d?.removes).toEqual(['EdgeFleetNodeOfflineNotAutonomous/n']);
    expect(alert('EdgeFleetNodeOfflineNotAutonomous/n')).toBeUndefined();
  });

  it('a pool below its share lists the pool and the nodes that are down, since the one that made it cross', () => {
    const { w, engine, put, alert } = world();
    const ns = Array.from({ length: 10 }, (_, i) => node(`p-${i}`, 'True', { pool: 'north' }));
    put(...ns);
    put(node('p-0', 'Unknown', { pool: 'north', since: T0 - 30 * MIN }));
    put(node('p-1', 'Unknown', { pool: 'north', since: T0 - 20 * MIN }));
    engine.evaluate();
    expect(alert('EdgeFleetPoolBelowReady/north')).toBeUndefined(); // 8 of 10 = 80 %: not below
    put(node('p-2', 'Unknown', { pool: 'north', since: T0 - 10 * MIN }));
    engine.evaluate();
    const a = alert('EdgeFleetPoolBelowReady/north');
    expect(a).toMatchObject({ state: 'pending', since: new Date(T0 - 10 * MIN).toISOString() });
    expect(a?.summary).toContain('7 of 10 nodes ready');
    expect(a?.objects.map((o) => `${o.kind}:${o.name}`)).toEqual([
      'NodePool:north',
      'Node:p-0',
      'Node:p-1',
      'Node:p-2',
    ]);
    w.now = T0 + 5 * MIN;
    expect(engine.evaluate()?.fired).toEqual(['EdgeFleetPoolBelowReady/north']);
  });

  it('changed thresholds take effect at once, and the diff carries them', () => {
    const rules = defaultAlertRules();
    const { engine, put, alert } = world(rules);
    put(node('n', 'Unknown', { since: T0 - 2 * MIN, autonomy: true }));
    engine.evaluate();
    expect(alert('EdgeFleetNodeOfflineAutonomous/n')?.state).toBe('pending');
    const lower = structuredClone(rules);
    lower.EdgeFleetNodeOfflineAutonomous.forMinutes = 1;
    engine.setRules(lower);
    expect(alert('EdgeFleetNodeOfflineAutonomous/n')?.state).toBe('firing');
    const off = structuredClone(lower);
    off.EdgeFleetNodeOfflineAutonomous.enabled = false;
    engine.setRules(off);
    expect(alert('EdgeFleetNodeOfflineAutonomous/n')?.state).toBe('resolved');
    expect(engine.snapshot().rules.EdgeFleetNodeOfflineAutonomous.enabled).toBe(false);
  });

  it('the hub report rules fire on what the report says; a malformed report is ignored with the reason', () => {
    const rules = defaultAlertRules();
    for (const r of Object.values(rules)) r.forMinutes = 0;
    const { w, engine, put, alert } = world(rules);
    put(
      node('cert', 'True', { report: report({ certNotAfter: new Date(T0 + 3 * 86_400_000).toISOString() }) }),
      node('full', 'True', { report: report({ disk: { freeBytes: 5e9, totalBytes: 100e9 } }) }),
      node('quota', 'True', { report: report({ cache: { bytes: 95, quotaBytes: 100, health: 'Ready' } }) }),
      node('ro', 'True', {
        report: report({ cache: { bytes: 1, health: 'CacheReadOnly', message: 'EROFS' } }),
      }),
      node('jr', 'True', { report: report({ journal: { depth: 800, bound: 1000, dropped: 0 } }) }),
      node('tun', 'True', { report: report({ tunnel: 'disconnected' }) }),
      node('fine', 'True', { report: report() }),
      node('bad', 'True', { report: '{"v":1,"at":' }),
      node('newer', 'True', { report: JSON.stringify({ ...report(), v: 2 }) }),
    );
    engine.evaluate();
    const firing = engine
      .snapshot()
      .alerts.filter((a) => a.state === 'firing')
      .map((a) => a.id)
      .sort();
    expect(firing).toEqual([
      'EdgeFleetHubCacheUnwritable/ro',
      'EdgeFleetHubCertificateExpiresSoon/cert',
      'EdgeFleetHubDiskNearlyFull/full',
      'EdgeFleetHubDiskNearlyFull/quota',
      'EdgeFleetHubJournalNearBound/jr',
      'EdgeFleetTunnelAgentDisconnected/tun',
    ]);
    // The certificate condition holds from 7 days before notAfter.
    expect(alert('EdgeFleetHubCertificateExpiresSoon/cert')?.since).toBe(
      new Date(T0 - 4 * 86_400_000).toISOString(),
    );
    expect(alert('EdgeFleetHubDiskNearlyFull/quota')?.summary).toContain('95 % of its quota used');
    const snap = engine.snapshot();
    expect(snap.problems).toEqual([
      { object: { kind: 'Node', name: 'bad' }, reason: 'edgefleet.io/node-report is not JSON' },
      {
        object: { kind: 'Node', name: 'newer' },
        reason: 'edgefleet.io/node-report has version 2; this app reads 1',
      },
    ]);
    expect(snap.coverage.reportingNodes).toBe(7);
    // The report moves back under the thresholds: the alerts resolve.
    put(node('jr', 'True', { report: report() }), node('tun', 'True', { report: report() }));
    w.now += MIN;
    engine.evaluate();
    expect(alert('EdgeFleetHubJournalNearBound/jr')?.state).toBe('resolved');
    expect(alert('EdgeFleetTunnelAgentDisconnected/tun')?.state).toBe('resolved');
  });

  it('rollouts: paused (info) and stopped at a failing pool, each naming the app', () => {
    const rules = defaultAlertRules();
    rules.EdgeFleetRolloutPaused.forMinutes = 0;
    const { w, engine, alert } = world(rules);
    const since = new Date(T0 - 20 * MIN).toISOString();
    w.apps.push(
      {
        name: 'web',
        namespace: 'shop',
        workloadKind: 'Deployment',
        pauseRequested: true,
        status: { conditions: [{ ...rolloutCondition({ kind: 'paused', waiting: ['b'] }), since }] },
      },
      {
        name: 'cam',
        namespace: 'edge',
        workloadKind: 'Deployment',
        status: {
          conditions: [
            { ...rolloutCondition({ kind: 'failing', pool: 'north', reason: 'pods crash' }), since },
          ],
        },
      },
    );
    engine.evaluate();
    expect(alert('EdgeFleetRolloutPaused/shop/web')).toMatchObject({
      state: 'firing',
      severity: 'info',
      objects: [{ kind: 'YurtAppSet', name: 'web', namespace: 'shop' }],
    });
    expect(alert('EdgeFleetRolloutFailing/edge/cam')).toMatchObject({
      state: 'firing',
      objects: [
        { kind: 'YurtAppSet', name: 'cam', namespace: 'edge' },
        { kind: 'NodePool', name: 'north' },
      ],
    });
  });

  it('holds while not connected and while nodes cannot be read, instead of resolving on missing data', () => {
    const { w, engine, put, alert } = world();
    put(node('n', 'Unknown', { since: T0 - 10 * MIN }));
    engine.evaluate();
    const id = 'EdgeFleetNodeOfflineNotAutonomous/n';
    expect(alert(id)?.state).toBe('firing');
    w.connected = false;
    w.nodes.clear();
    expect(engine.evaluate()).toMatchObject({ live: false, upserts: [], removes: [] });
    expect(alert(id)?.state).toBe('firing');
    w.connected = true;
    w.nodesState = 'forbidden';
    const d = engine.evaluate();
    expect(d?.coverage?.nodes).toBe('unavailable');
    expect(alert(id)?.state).toBe('firing');
  });

  it('a pending alert fires on its own at the deadline, without another change', async () => {
    vi.useFakeTimers({ now: T0 });
    const rules = defaultAlertRules();
    rules.EdgeFleetNodeOfflineNotAutonomous.forMinutes = 2;
    const diffs: AlertsDiff[] = [];
    const nodes = [node('n', 'Unknown', { since: T0 })];
    const engine = new AlertEngine({
      clusterId: 'src/ctx',
      rules,
      inputs: () => ({
        nodes,
        nodesState: 'synced',
        yurtappsets: [],
        yurtappsetsState: 'synced',
        connected: true,
      }),
      onDiff: (d) => diffs.push(d),
      tickMs: 0,
    });
    engine.touch();
    await vi.advanceTimersByTimeAsync(10);
    expect(diffs.at(-1)?.upserts[0]?.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(2 * MIN);
    expect(diffs.at(-1)?.fired).toEqual(['EdgeFleetNodeOfflineNotAutonomous/n']);
    engine.stop();
  });
});
