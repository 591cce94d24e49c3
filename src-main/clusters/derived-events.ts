/**
 * Feeds node, pool and YurtAppSet changes through the transition rule (transitions.ts) and
 * keeps what the pool rule needs between changes: each pool's members and which are up.
 * Called by LiveCluster as objects arrive; returns the derived events to put in the feed.
 */
import { LABEL_NODEPOOL } from '../../src-agent/api/labels.ts';
import { condition, nodeHealth } from '../ipc/node-health.ts';
import type { EventWire, NodeWire, YurtAppSetWire } from '../ipc/types.ts';
import { nodeTransition, type PoolCount, poolTransition, rolloutTransition } from './transitions.ts';

interface Member {
  up: boolean;
  since?: string;
}

export class DerivedEvents {
  private readonly now: () => number;
  private readonly poolOfNode = new Map<string, string>();
  private readonly members = new Map<string, Map<string, Member>>();
  /** Each pool's count when last evaluated. */
  private readonly counts = new Map<string, PoolCount>();
  private readonly touched = new Set<string>();

  constructor(now: () => number) {
    this.now = now;
  }

  /** A node arrived, changed (`after`) or went away (`after` undefined). Pools are evaluated by `pools()`. */
  node(before: NodeWire | undefined, after: NodeWire | undefined): EventWire[] {
    const out: EventWire[] = [];
    const name = (after ?? before)?.name;
    if (!name) return out;
    if (after) {
      const t = nodeTransition(before, after, this.now());
      if (t) out.push(t);
    }
    const oldPool = this.poolOfNode.get(name);
    const newPool = after?.labels?.[LABEL_NODEPOOL];
    if (oldPool !== undefined && oldPool !== newPool) {
      this.members.get(oldPool)?.delete(name);
      this.touched.add(oldPool);
      this.poolOfNode.delete(name);
    }
    if (after && newPool) {
      const h = nodeHealth(after, this.now());
      const up = h === 'ready' || h === 'cordoned';
      const since = condition(after, 'Ready')?.since;
      let m = this.members.get(newPool);
      if (!m) {
        m = new Map();
        this.members.set(newPool, m);
      }
      m.set(name, since ? { up, since } : { up });
      this.poolOfNode.set(name, newPool);
      this.touched.add(newPool);
    }
    return out;
  }

  /** Evaluates the pools whose members changed since the last call (after a whole list, or one change). */
  pools(): EventWire[] {
    const out: EventWire[] = [];
    for (const pool of this.touched) {
      const m = this.members.get(pool);
      let up = 0;
      let downSince: string | undefined;
      let anySince: string | undefined;
      for (const x of m?.values() ?? []) {
        if (x.up) up++;
        else if (x.since && (!downSince || x.since > downSince)) downSince = x.since;
        if (x.since && (!anySince || x.since > anySince)) anySince = x.since;
      }
      const members = m?.size ?? 0;
      const since = up < members ? downSince : anySince;
      const count: PoolCount = since ? { members, up, since } : { members, up };
      const t = poolTransition(pool, this.counts.get(pool), count, this.now());
      if (t) out.push(t);
      if (members === 0) {
        this.counts.delete(pool);
        this.members.delete(pool);
      } else this.counts.set(pool, count);
    }
    this.touched.clear();
    return out;
  }

  app(before: YurtAppSetWire | undefined, after: YurtAppSetWire): EventWire[] {
    const t = rolloutTransition(before, after);
    return t ? [t] : [];
  }
}
