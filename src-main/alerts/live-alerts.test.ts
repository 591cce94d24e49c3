import { afterEach, describe, expect, it } from 'vitest';
import { testKubeConfig } from '../../test/unit/kubeconfig.ts';
import { LiveCluster } from '../clusters/live-cluster.ts';
import { type AlertsDiff, defaultAlertRules } from '../ipc/alerts-types.ts';
import type { NodeWire } from '../ipc/types.ts';

let live: LiveCluster | undefined;
afterEach(async () => {
  await live?.stop();
});

const down = (name: string): NodeWire => ({
  name,
  rv: `${name}-down`,
  conditions: [{ type: 'Ready', status: 'Unknown', since: '2026-01-01T00:00:00Z' }],
});

async function waitFor<T>(what: string, f: () => T | undefined): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('alerts in the live cluster', () => {
  it('node changes reach the rules and the result is pushed as alerts:changed; new rules apply at once', async () => {
    const diffs: AlertsDiff[] = [];
    const rules = defaultAlertRules();
    rules.EdgeFleetNodeOfflineNotAutonomous.forMinutes = 0;
    live = new LiveCluster(
      'default/x',
      testKubeConfig('https://127.0.0.1:1'),
      (channel, payload) => {
        if (channel === 'alerts:changed') diffs.push(payload as AlertsDiff);
      },
      { batchMs: 5, alertRules: rules, alertMinIntervalMs: 0 },
    );
    live.ingest.contact();
    live.ingest.replace('nodes', [down('edge-1')]);
    live.ingest.state('nodes', { status: 'synced' });
    const fired = await waitFor('the offline alert to fire', () =>
      diffs.find((d) => d.fired.includes('EdgeFleetNodeOfflineNotAutonomous/edge-1')),
    );
    expect(fired.live).toBe(true);
    expect(live.alertsSnapshot().alerts.map((a) => [a.id, a.state])).toEqual([
      ['EdgeFleetNodeOfflineNotAutonomous/edge-1', 'firing'],
    ]);
    const off = structuredClone(rules);
    off.EdgeFleetNodeOfflineNotAutonomous.enabled = false;
    live.setAlertRules(off);
    expect(diffs.at(-1)?.upserts.map((a) => a.state)).toEqual(['resolved']);
    expect(diffs.at(-1)?.rules?.EdgeFleetNodeOfflineNotAutonomous.enabled).toBe(false);
  });
});
