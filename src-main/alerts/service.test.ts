import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClustersService } from '../clusters/service.ts';
import { ALERT_RULES_SCHEMA } from '../ipc/alerts-contract.ts';
import { type AlertRules, defaultAlertRules } from '../ipc/alerts-types.ts';
import { REQUEST_SCHEMAS } from '../ipc/contract.ts';
import { SettingsStore } from '../settings/store.ts';
import { AlertsService } from './service.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function setUp() {
  const dir = await mkdtemp(join(tmpdir(), 'alerts-svc-'));
  dirs.push(dir);
  const path = join(dir, 'settings.json');
  const pushed: AlertRules[] = [];
  const live = { setAlertRules: (r: AlertRules) => pushed.push(r) };
  const clusters = {
    liveCluster: (id: string) => (id === 'src/live' ? live : undefined),
  } as unknown as ClustersService;
  const logs: string[] = [];
  const svc = new AlertsService({ settings: new SettingsStore(path), clusters, log: (l) => logs.push(l) });
  return { svc, path, pushed, logs };
}

describe('alert thresholds per cluster', () => {
  it('are saved with the settings, pushed to the live cluster at once, and reset to the defaults', async () => {
    const { svc, path, pushed } = await setUp();
    expect(await svc.rulesFor('src/live')).toMatchObject({ custom: false, rules: defaultAlertRules() });
    const rules = defaultAlertRules();
    rules.EdgeFleetNodeOfflineAutonomous.forMinutes = 1;
    rules.EdgeFleetPoolBelowReady.threshold = 50;
    const saved = await svc.setRules('src/live', rules);
    expect(saved).toMatchObject({ custom: true, rules });
    expect(pushed).toEqual([rules]);
    const onDisk = JSON.parse(await readFile(path, 'utf8'));
    expect(onDisk.alertRules['src/live'].EdgeFleetPoolBelowReady.threshold).toBe(50);
    // Another cluster keeps the defaults; a restarted app reads the saved ones.
    const again = new AlertsService({ settings: new SettingsStore(path) });
    expect((await again.rulesFor('src/other')).custom).toBe(false);
    expect((await again.rulesFor('src/live')).rules.EdgeFleetPoolBelowReady.threshold).toBe(50);
    const reset = await svc.setRules('src/live', null);
    expect(reset).toMatchObject({ custom: false, rules: defaultAlertRules() });
  });

  it('a hand-edited entry that fails validation is ignored with the reason logged', async () => {
    const { svc, path, logs } = await setUp();
    await writeFile(
      path,
      JSON.stringify({
        version: 1,
        importedSources: [],
        alertRules: {
          'src/x': { EdgeFleetPoolBelowReady: { enabled: true, forMinutes: 5, threshold: 900 } },
        },
      }),
    );
    expect(await svc.rulesFor('src/x')).toMatchObject({ custom: false, rules: defaultAlertRules() });
    expect(logs[0]).toContain('EdgeFleetPoolBelowReady.threshold: must be ≤ 100');
  });

  it('IPC input is refused with the field and the bound', () => {
    const bad = defaultAlertRules() as unknown as Record<string, Record<string, unknown>>;
    (bad.EdgeFleetHubDiskNearlyFull as Record<string, unknown>).threshold = 0;
    expect(ALERT_RULES_SCHEMA(bad)).toEqual({
      ok: false,
      reason: 'EdgeFleetHubDiskNearlyFull.threshold: must be ≥ 1',
    });
    const extra = {
      ...defaultAlertRules(),
      EdgeFleetNodeOfflineAutonomous: { enabled: true, forMinutes: 1, threshold: 3 },
    };
    expect(ALERT_RULES_SCHEMA(extra).ok).toBe(false);
    expect(REQUEST_SCHEMAS['alerts:setRules']({ clusterId: 'src/a', rules: null }).ok).toBe(true);
    expect(REQUEST_SCHEMAS['alerts:setRules']({ clusterId: 'src/a', rules: defaultAlertRules() }).ok).toBe(
      true,
    );
  });
});
