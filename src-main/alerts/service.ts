/**
 * The alerts part of main's IPC surface: each cluster's thresholds, kept with the app's settings
 * and handed to its live state when it starts (and at once when changed), and the current alerts
 * read from the live state (the engine runs where the objects are: the cluster's worker thread).
 */
import type { ClustersService } from '../clusters/service.ts';
import type { AlertRulesInfo } from '../ipc/alerts-contract.ts';
import { ALERT_RULES_SCHEMA } from '../ipc/alerts-contract.ts';
import {
  type AlertRules,
  type AlertsSnapshot,
  defaultAlertRules,
  withDefaults,
} from '../ipc/alerts-types.ts';
import type { IpcHandlers } from '../ipc/router.ts';
import type { SettingsStore } from '../settings/store.ts';

type AlertHandlers = Pick<IpcHandlers, 'alerts:list' | 'alerts:getRules' | 'alerts:setRules'>;

export interface AlertsServiceOptions {
  settings: SettingsStore;
  /** Set after construction: the clusters service is built with this service's rulesFor. */
  clusters?: ClustersService;
  log?: (line: string) => void;
}

export class AlertsService {
  private readonly settings: SettingsStore;
  clusters: ClustersService | undefined;
  private readonly log: (line: string) => void;

  constructor(o: AlertsServiceOptions) {
    this.settings = o.settings;
    this.clusters = o.clusters;
    this.log = o.log ?? (() => {});
  }

  /** The cluster's rules: its stored ones over the defaults; a stored entry that fails validation is ignored, and logged. */
  async rulesFor(clusterId: string): Promise<AlertRulesInfo> {
    const stored = (await this.settings.load()).alertRules?.[clusterId];
    if (!stored) return { clusterId, rules: defaultAlertRules(), custom: false };
    const checked = ALERT_RULES_SCHEMA(withDefaults(stored), `alertRules[${JSON.stringify(clusterId)}]`);
    if (!checked.ok) {
      this.log(
        `settings: ignoring alert thresholds for ${clusterId} (${checked.reason}); using the defaults`,
      );
      return { clusterId, rules: defaultAlertRules(), custom: false };
    }
    return { clusterId, rules: checked.value, custom: true };
  }

  async setRules(clusterId: string, rules: AlertRules | null): Promise<AlertRulesInfo> {
    await this.settings.update((s) => {
      const all = { ...(s.alertRules ?? {}) };
      if (rules) all[clusterId] = rules;
      else delete all[clusterId];
      s.alertRules = all;
    });
    const info = await this.rulesFor(clusterId);
    this.clusters?.liveCluster(clusterId)?.setAlertRules(info.rules);
    return info;
  }

  async list(clusterId: string): Promise<AlertsSnapshot> {
    const live = this.clusters?.liveCluster(clusterId);
    if (live) return live.alertsSnapshot();
    const { rules } = await this.rulesFor(clusterId);
    return {
      clusterId,
      epoch: 'none',
      seq: 0,
      live: false,
      alerts: [],
      problems: [],
      problemCount: 0,
      coverage: { nodes: 'syncing', yurtappsets: 'syncing', reportingNodes: 0 },
      rules,
    };
  }

  handlers(): AlertHandlers {
    return {
      'alerts:list': ({ clusterId }) => this.list(clusterId),
      'alerts:getRules': ({ clusterId }) => this.rulesFor(clusterId),
      'alerts:setRules': ({ clusterId, rules }) => this.setRules(clusterId, rules),
    };
  }
}
