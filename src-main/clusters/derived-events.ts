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
  /** Members up per pool, kept as nodes change: a node update costs O(1), not O(pool size). */
  private readonly upCount = new Map<string, number>();
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
    if (oldPool !== undefined) {
      this.leave(oldPool, name);
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
      if (up) this.upCount.set(newPool, (this.upCount.get(newPool) ?? 0) + 1);
      this.poolOfNode.set(name, newPool);
      this.touched.add(newPool);
    }
    return out;
  }

  private leave(pool: string, node: string): void {
    const m = this.members.get(pool);
    const was = m?.get(node);
    if (!m || !was) return;
    m.delete(node);
    if (was.up) this.upCount.set(pool, (this.upCount.get(pool) ?? 1) - 1);
    this.touched.add(pool);
  }

  /** Evaluates the pools whose members changed since the last call (after a whole list, or one change). */
  pools(): EventWire[] {
    const out: EventWire[] = [];
    for (const pool of this.touched) {
      const members = this.members.get(pool)?.size ?? 0;
      const count: PoolCount = { members, up: this.upCount.get(pool) ?? 0 };
      const prev = this.counts.get(pool);
      // Only a transition needs "since when", which takes a pass over the members.
      if (poolTransition(pool, prev, count, this.now())) {
        const since = this.latestSince(pool, count.up < count.members);
        const t = poolTransition(pool, prev, since ? { ...count, since } : count, this.now());
        if (t) out.push(t);
      }
      if (members === 0) {
        this.counts.delete(pool);
        this.members.delete(pool);
        this.upCount.delete(pool);
      } else this.counts.set(pool, count);
    }
    this.touched.clear();
    return out;
  }

  /** The latest Ready change among the pool's members that are down (or, `down` false, among all). */
  private latestSince(pool: string, down: boolean): string | undefined {
    let latest: string | undefined;
    for (const x of this.members.get(pool)?.values() ?? [])
      if ((!down || !x.up) && x.since && (!latest || x.since > latest)) latest = x.since;
    return latest;
  }

  app(before: YurtAppSetWire | undefined, after: YurtAppSetWire): EventWire[] {
    const t = rolloutTransition(before, after);
    return t ? [t] : [];
  }
}
