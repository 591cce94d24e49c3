/**
 * Our YurtAppSet rollout condition (type RolloutProgressing): what the controller writes and what
 * the app reads back, in one place so the two never disagree on a reason or a message's shape.
 */
import type { Condition } from './nodepool.ts';
import { ANNOTATION_ROLLOUT_PAUSED, YAS_CONDITION_ROLLOUT } from './yurtappset.ts';

export type RolloutStand =
  | { kind: 'complete' }
  | { kind: 'rolling'; updating: string[]; waiting: string[] }
  /** The controller stopped by itself: a pool it updated does not become available. */
  | { kind: 'failing'; pool: string; reason: string }
  /** Someone set the pause annotation: no workload is created, updated or deleted. */
  | { kind: 'paused'; waiting: string[] };

export const ROLLOUT_REASON = {
  complete: 'Complete',
  rolling: 'RollingOut',
  failing: 'RolloutPaused',
  paused: 'PausedByUser',
} as const;

const list = (pools: string[]) => pools.join(', ') || '-';
const unlist = (text: string | undefined) =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s !== '-');

export function rolloutCondition(s: RolloutStand): Condition {
  const type = YAS_CONDITION_ROLLOUT;
  switch (s.kind) {
    case 'complete':
      return { type, status: 'True', reason: ROLLOUT_REASON.complete, message: '' };
    case 'rolling':
      return {
        type,
        status: 'True',
        reason: ROLLOUT_REASON.rolling,
        message: `updating ${list(s.updating)}; waiting ${list(s.waiting)}`,
      };
    case 'failing':
      return {
        type,
        status: 'False',
        reason: ROLLOUT_REASON.failing,
        message: `pool ${s.pool} is failing: ${s.reason}`,
      };
    case 'paused':
      return {
        type,
        status: 'False',
        reason: ROLLOUT_REASON.paused,
        message: `paused by the annotation ${ANNOTATION_ROLLOUT_PAUSED}; waiting ${list(s.waiting)}`,
      };
  }
}

/** The stand a condition written by `rolloutCondition` describes; undefined for anything else. */
export function readRolloutCondition(
  c: { reason?: string; message?: string } | undefined,
): RolloutStand | undefined {
  const m = c?.message ?? '';
  switch (c?.reason) {
    case ROLLOUT_REASON.complete:
      return { kind: 'complete' };
    case ROLLOUT_REASON.rolling: {
      const r = /^updating (.*); waiting (.*)$/s.exec(m);
      return r ? { kind: 'rolling', updating: unlist(r[1]), waiting: unlist(r[2]) } : undefined;
    }
    case ROLLOUT_REASON.failing: {
      const r = /^pool (\S+) is failing: (.*)$/s.exec(m);
      return r ? { kind: 'failing', pool: r[1] as string, reason: r[2] as string } : undefined;
    }
    case ROLLOUT_REASON.paused: {
      const r = /; waiting (.*)$/s.exec(m);
      return { kind: 'paused', waiting: unlist(r?.[1]) };
    }
    default:
      return undefined;
  }
}

/** Whether a YurtAppSet's annotations ask the controller to hold its rollout. */
export function rolloutPauseRequested(annotations: Record<string, string> | undefined): boolean {
  return annotations?.[ANNOTATION_ROLLOUT_PAUSED] === 'true';
}
