/**
 * The fleet feed's store in main: events deduplicated by uid (an update of the same Event, or
 * the same derived transition seen again after a re-list, merges into one entry: highest count,
 * earliest first time, latest last time) and bounded to the `size` most recently changed —
 * a cluster with a crash-looping DaemonSet writes thousands of Warnings, the feed keeps the
 * newest. A Map's insertion order is the recency order: an update re-inserts at the end, so
 * eviction takes from the front in O(1).
 */
import { EVENT_RING_SIZE, type EventWire } from '../ipc/types.ts';
import { wireKey } from '../ipc/wire-key.ts';

export interface RingChange {
  /** Entries added or changed (as merged), to send as upserts. */
  put: EventWire[];
  /** Entries that left the ring (deleted, evicted, gone after a re-list), to send as removes. */
  dropped: EventWire[];
}

const idOf = (e: EventWire): string => e.uid ?? wireKey(e);
const minIso = (a?: string, b?: string) => (!a ? b : !b ? a : a < b ? a : b);
const maxIso = (a?: string, b?: string) => (!a ? b : !b ? a : a > b ? a : b);

/** One entry out of two sightings of the same event (same uid). */
export function mergeEvent(old: EventWire, next: EventWire): EventWire {
  const merged: EventWire = { ...next, count: Math.max(old.count, next.count) };
  const first = minIso(old.firstAt, next.firstAt);
  const last = maxIso(old.lastAt, next.lastAt);
  if (first) merged.firstAt = first;
  if (last) merged.lastAt = last;
  return merged;
}

export class EventRing {
  private readonly byId = new Map<string, EventWire>();
  readonly size: number;
  /** Entries dropped to keep the bound (evidence for tests and diagnostics). */
  evicted = 0;

  constructor(size = EVENT_RING_SIZE) {
    this.size = size;
  }

  get length(): number {
    return this.byId.size;
  }

  values(): IterableIterator<EventWire> {
    return this.byId.values();
  }

  upsert(e: EventWire): RingChange {
    const id = idOf(e);
    const old = this.byId.get(id);
    const merged = old ? mergeEvent(old, e) : e;
    this.byId.delete(id);
    this.byId.set(id, merged);
    return { put: [merged], dropped: this.trim() };
  }

  remove(e: EventWire): RingChange {
    const id = idOf(e);
    const old = this.byId.get(id);
    if (!old) return { put: [], dropped: [] };
    this.byId.delete(id);
    return { put: [], dropped: [old] };
  }

  /**
   * After a (re-)list: the API's events are exactly `items` (oldest first by last time, so the
   * newest survive the bound); entries `keep` accepts (derived ones) stay.
   */
  replace(items: EventWire[], keep: (e: EventWire) => boolean): RingChange {
    const dropped: EventWire[] = [];
    const fresh = new Set(items.map(idOf));
    for (const [id, e] of this.byId) {
      if (!keep(e) && !fresh.has(id)) {
        this.byId.delete(id);
        dropped.push(e);
      }
    }
    const sorted = [...items].sort((a, b) => (a.lastAt ?? '').localeCompare(b.lastAt ?? ''));
    const put: EventWire[] = [];
    for (const e of sorted) {
      const id = idOf(e);
      const old = this.byId.get(id);
      const merged = old ? mergeEvent(old, e) : e;
      this.byId.delete(id);
      this.byId.set(id, merged);
      put.push(merged);
    }
    const trimmed = this.trim();
    const gone = new Set(trimmed.map(idOf));
    return { put: put.filter((e) => !gone.has(idOf(e))), dropped: [...dropped, ...trimmed] };
  }

  private trim(): EventWire[] {
    const out: EventWire[] = [];
    while (this.byId.size > this.size) {
      const [id, e] = this.byId.entries().next().value as [string, EventWire];
      this.byId.delete(id);
      out.push(e);
      this.evicted++;
    }
    return out;
  }
}
