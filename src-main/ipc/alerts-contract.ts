/**
 * The alerts part of the IPC contract: a cluster's current alerts, its rule thresholds (read,
 * changed, reset), and `alerts:changed` pushed after every evaluation that changed something.
 * Thresholds are the app's own settings (no cluster write), so no RBAC gate applies; each
 * rule's bounds come from the one rule table (alerts-types.ts).
 */
import {
  ALERT_RULES,
  type AlertRuleSetting,
  type AlertRules,
  type AlertsDiff,
  type AlertsSnapshot,
  FOR_MINUTES_MAX,
} from './alerts-types.ts';
import { CLUSTER_ID } from './ids.ts';
import { bool, int, nullable, object, type Validator } from './validate.ts';

const FOR_MINUTES = int({ min: 0, max: FOR_MINUTES_MAX });

/** Every rule, each with exactly its fields: a threshold where the rule has one, within its bounds. */
export const ALERT_RULES_SCHEMA: Validator<AlertRules> = object(
  Object.fromEntries(
    ALERT_RULES.map((r) => [
      r.id,
      r.threshold
        ? object({
            enabled: bool(),
            forMinutes: FOR_MINUTES,
            threshold: int({ min: r.threshold.min, max: r.threshold.max }),
          })
        : object({ enabled: bool(), forMinutes: FOR_MINUTES }),
    ]),
  ) as Record<string, Validator<AlertRuleSetting>>,
) as unknown as Validator<AlertRules>;

export interface AlertRulesInfo {
  clusterId: string;
  rules: AlertRules;
  /** False while the cluster uses the defaults. */
  custom: boolean;
}

export const ALERTS_REQUEST_SCHEMAS = {
  /** The cluster's alerts now (empty, with live false, while it is not watched). */
  'alerts:list': object({ clusterId: CLUSTER_ID }),
  'alerts:getRules': object({ clusterId: CLUSTER_ID }),
  /** Saves the cluster's thresholds (null: back to the defaults); they take effect at once. */
  'alerts:setRules': object({ clusterId: CLUSTER_ID, rules: nullable(ALERT_RULES_SCHEMA) }),
} satisfies Record<string, Validator<unknown>>;

export interface AlertsResponseMap {
  'alerts:list': AlertsSnapshot;
  'alerts:getRules': AlertRulesInfo;
  'alerts:setRules': AlertRulesInfo;
}

export interface AlertsEventMap {
  'alerts:changed': AlertsDiff;
}
export const ALERTS_EVENT_CHANNELS = ['alerts:changed'] as const;
