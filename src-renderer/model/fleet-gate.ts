/**
 * Whether an action may be offered now, and why not: the cluster must be connected (writes to
 * an unreachable cluster are refused by main too; nothing is queued) and the user's RBAC must
 * allow it (`fleet:capabilities`, one SelfSubjectAccessReview per permission).
 */
import type { FleetAction, FleetCapabilities } from '../../src-main/ipc/fleet-types.ts';
import type { ConnectionInfo } from '../../src-main/ipc/types.ts';

export interface Gate {
  enabled: boolean;
  /** Why disabled, or what to know while enabled. */
  reason?: string;
}

export function gate(
  action: FleetAction,
  caps: FleetCapabilities | null,
  connection: ConnectionInfo | undefined,
  capsError?: string,
): Gate {
  if (!connection) return { enabled: false, reason: 'Open a cluster first.' };
  if (connection.state !== 'connected')
    return {
      enabled: false,
      reason: `The cluster is ${connection.state}: changes are refused until it answers again (nothing is queued).`,
    };
  if (!caps)
    return {
      enabled: false,
      reason: capsError
        ? `Cannot tell what your account may do here: ${capsError}`
        : 'Checking what your account may do here…',
    };
  const c = caps.actions.find((a) => a.action === action);
  if (!c) return { enabled: false, reason: 'This cluster does not offer it.' };
  return c.reason ? { enabled: c.enabled, reason: c.reason } : { enabled: c.enabled };
}
