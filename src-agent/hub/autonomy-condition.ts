import {
  ANNOTATION_AUTONOMY_DURATION,
  ANNOTATION_AUTONOMY_LEGACY,
  ANNOTATION_BINDING,
  CONDITION_AUTONOMY,
} from '../api/labels.ts';
import type { Condition } from '../api/nodepool.ts';
import type { Logger } from './log.ts';
import type { StorageCondition } from './storage.ts';
import type { Upstream } from './upstream.ts';

export interface AutonomyInputs {
  /** The node's annotations, or undefined while the hub has not seen its Node yet. */
  annotations: Record<string, string> | undefined;
  cache: StorageCondition;
  certificatesLoaded: boolean;
}

/** Whether autonomy will actually work on this node, as a Node condition. */
export function autonomyCondition(i: AutonomyInputs): Pick<Condition, 'status' | 'reason' | 'message'> {
  if (!i.annotations)
    return {
      status: 'Unknown',
      reason: 'NodeNotSeen',
      message: 'the hub has not read this Node from the cloud yet',
    };
  const a = i.annotations;
  const enabled =
    a[ANNOTATION_AUTONOMY_DURATION] !== undefined ||
    a[ANNOTATION_AUTONOMY_LEGACY] === 'true' ||
    a[ANNOTATION_BINDING] === 'true';
  if (!enabled)
    return {
      status: 'False',
      reason: 'AutonomyDisabled',
      message: `node has no ${ANNOTATION_AUTONOMY_DURATION} annotation; pods will be evicted when the link drops`,
    };
  if (!i.certificatesLoaded)
    return { status: 'False', reason: 'CertificatesNotReady', message: 'hub has no client certificate' };
  // Resyncing: writable again, but missing what changed while it was not.
  if (!i.cache.writable || i.cache.reason !== 'Ready')
    return { status: 'False', reason: i.cache.reason, message: i.cache.message };
  return {
    status: 'True',
    reason: 'AutonomyReady',
    message: 'hub cache is healthy; the node keeps its pods offline',
  };
}

/** Patches the `Autonomy` condition onto the node's status when it changes. */
export class AutonomyReporter {
  private readonly upstream: Upstream;
  private readonly nodeName: string;
  private readonly log: Logger;
  private last = '';

  constructor(upstream: Upstream, nodeName: string, log: Logger) {
    this.upstream = upstream;
    this.nodeName = nodeName;
    this.log = log;
  }

  async report(i: AutonomyInputs): Promise<boolean> {
    const c = autonomyCondition(i);
    const sig = `${c.status}/${c.reason}/${c.message}`;
    if (sig === this.last) return false;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const patch = {
      status: {
        conditions: [{ type: CONDITION_AUTONOMY, ...c, lastHeartbeatTime: now, lastTransitionTime: now }],
      },
    };
    try {
      const res = await this.upstream.jsonRaw(
        'PATCH',
        `/api/v1/nodes/${encodeURIComponent(this.nodeName)}/status`,
        JSON.stringify(patch),
        'application/strategic-merge-patch+json',
      );
      if (res.status !== 200) throw new Error(`answered ${res.status}`);
      this.last = sig;
      this.log.info('autonomy.condition', { ...c });
      return true;
    } catch (err) {
      this.log.warn('autonomy.patch_failed', { error: (err as Error).message });
      return false;
    }
  }
}
