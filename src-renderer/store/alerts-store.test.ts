import { describe, expect, it } from 'vitest';
import {
  type AlertsDiff,
  type AlertsSnapshot,
  type AlertWire,
  defaultAlertRules,
} from '../../src-main/ipc/alerts-types.ts';
import { fakeMain } from '../../test/unit/fake-main.ts';
import { createAlertsStore, firingOf } from './alerts-store.ts';
import { createAppStore } from './app-store.ts';

const ID = 'imported-1/lab';
const a = (name: string, state: AlertWire['state']): AlertWire => ({
  id: `EdgeFleetNodeOfflineAutonomous/${name}`,
  rule: 'EdgeFleetNodeOfflineAutonomous',
  severity: 'warning',
  state,
  since: '2026-01-01T00:00:00Z',
  summary: `Node ${name} is cut off but autonomous.`,
  objects: [{ kind: 'Node', name }],
});
const snap = (epoch: string, seq: number, alerts: AlertWire[]): AlertsSnapshot => ({
  clusterId: ID,
  epoch,
  seq,
  live: true,
  alerts,
  problems: [],
  problemCount: 0,
  coverage: { nodes: 'ok', yurtappsets: 'ok', reportingNodes: 0 },
  rules: defaultAlertRules(),
});
const diff = (epoch: string, seq: number, upserts: AlertWire[], fired: string[] = []): AlertsDiff => ({
  clusterId: ID,
  epoch,
  seq,
  evaluatedAt: '2026-01-01T00:01:00Z',
  live: true,
  upserts,
  removes: [],
  fired,
});

/** Main answering what the app store and the alerts store ask (the watch never settles: alerts only). */
function mainWith(truth: { alerts: AlertsSnapshot }) {
  return fakeMain({
    'alerts:list': () => structuredClone(truth.alerts),
    'clusters:listSources': () => [],
    'clusters:watch': () => new Promise(() => {}),
    'vault:status': () => ({ backend: 'keychain', detail: '', entries: 0 }),
  });
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('alerts store', () => {
  it('loads when a cluster opens, applies diffs in order, reloads on a gap or a new epoch', async () => {
    const truth = { alerts: snap('e1', 1, [a('n1', 'pending')]) };
    const main = mainWith(truth);
    const app = createAppStore(main.transport, { tickMs: 0 });
    const alerts = createAlertsStore(main.transport, app);
    void app.getState().openCluster(ID);
    await settle();
    expect(alerts.getState().snapshot?.alerts.map((x) => x.state)).toEqual(['pending']);
    main.emit('alerts:changed', diff('e1', 2, [a('n1', 'firing')], [a('n1', 'firing').id]));
    expect(firingOf(alerts.getState().snapshot).map((x) => x.id)).toEqual([a('n1', 'firing').id]);
    const lists = () => main.of('alerts:list').length;
    expect(lists()).toBe(1);
    truth.alerts = snap('e1', 4, [a('n1', 'resolved')]);
    main.emit('alerts:changed', diff('e1', 4, []));
    await settle();
    expect(lists()).toBe(2);
    expect(alerts.getState().snapshot?.alerts[0]?.state).toBe('resolved');
    truth.alerts = snap('e2', 1, []);
    main.emit('alerts:changed', diff('e2', 1, []));
    await settle();
    expect(lists()).toBe(3);
    expect(alerts.getState().snapshot?.epoch).toBe('e2');
    expect(main.unexpected).toEqual([]);
  });

  it('the banner stays dismissed until another alert fires', async () => {
    const truth = { alerts: snap('e1', 1, [a('n1', 'firing')]) };
    const main = mainWith(truth);
    const app = createAppStore(main.transport, { tickMs: 0 });
    const alerts = createAlertsStore(main.transport, app);
    void app.getState().openCluster(ID);
    await settle();
    alerts.getState().dismissBanner();
    const visible = () =>
      firingOf(alerts.getState().snapshot).some((x) => !alerts.getState().dismissed.has(x.id));
    expect(visible()).toBe(false);
    main.emit('alerts:changed', diff('e1', 2, [a('n2', 'firing')], [a('n2', 'firing').id]));
    expect(visible()).toBe(true);
    expect(main.unexpected).toEqual([]);
  });
});
