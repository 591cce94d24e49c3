import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from './log.ts';
import type { Upstream } from './upstream.ts';

/** What a journaled write is; events are dropped first when the journal is full. */
export type JournalKind = 'node-status' | 'pod-status' | 'event';

export interface JournalEntry {
  seq: number;
  kind: JournalKind;
  method: string;
  path: string;
  contentType: string;
  /** The request's Content-Encoding, when the client compressed its body. */
  contentEncoding?: string;
  /**
   * How `body` is stored: 'base64' holds the client's bytes exactly as sent (kubelet writes events as
   * protobuf, which does not survive a trip through UTF-8); 'utf8' (or absent) is text from older hubs.
   */
  bodyEncoding?: 'base64' | 'utf8';
  body: string;
  at: string;
}

/** One write to journal: the client's request as it arrived. */
export interface JournalWrite {
  kind: JournalKind;
  method: string;
  path: string;
  contentType: string;
  contentEncoding?: string;
  body: Buffer;
}

export interface ReplayResult {
  applied: number;
  conflictsResolved: number;
  dropped: number;
  remaining: number;
}

/**
 * Writes the node makes while the cloud is unreachable — node status, pod status, events — kept on
 * disk in order (one file per entry, atomic) and replayed on reconnect. A later status write for the
 * same object supersedes earlier ones (it carries the whole current status), which also keeps the
 * journal small; events beyond the bound are dropped oldest first and counted.
 */
export class Journal {
  private readonly dir: string;
  private readonly max: number;
  private readonly log: Logger;
  private entries: JournalEntry[] = [];
  private seq = 0;
  private replaying: Promise<ReplayResult> | undefined;
  /** Entries pushed out because the journal was full (events first). */
  dropped = 0;
  /** Entries the API server refused on replay for a reason other than those counted below. */
  rejected = 0;
  /** Event PATCHes answered 404: the event they update is gone (expired, or its create was dropped). */
  eventsGone = 0;
  /** Protobuf status writes answered 409 on replay, dropped as stale (see replayOne). */
  staleStatusDropped = 0;

  constructor(dir: string, maxEntries: number, log: Logger) {
    this.dir = dir;
    this.max = maxEntries;
    this.log = log;
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const names = (await fsp.readdir(this.dir)).sort();
    for (const n of names) {
      const p = join(this.dir, n);
      if (n.startsWith('.tmp-')) {
        await fsp.rm(p, { force: true });
        continue;
      }
      try {
        const e = JSON.parse(await fsp.readFile(p, 'utf8')) as JournalEntry;
        if (typeof e.seq !== 'number' || typeof e.path !== 'string') throw new Error('missing fields');
        this.entries.push(e);
        this.seq = Math.max(this.seq, e.seq);
      } catch (err) {
        this.log.warn('journal.corrupt_entry', { file: n, error: (err as Error).message });
        await fsp.rename(p, join(this.dir, `.corrupt-${n}`)).catch(() => fsp.rm(p, { force: true }));
      }
    }
    this.entries.sort((a, b) => a.seq - b.seq);
  }

  get size(): number {
    return this.entries.length;
  }

  list(): readonly JournalEntry[] {
    return this.entries;
  }

  private file(e: JournalEntry): string {
    return join(this.dir, `${String(e.seq).padStart(12, '0')}.json`);
  }

  async append(w: JournalWrite): Promise<void> {
    const { kind, path } = w;
    const e: JournalEntry = {
      seq: ++this.seq,
      kind,
      method: w.method,
      path,
      contentType: w.contentType,
      ...(w.contentEncoding ? { contentEncoding: w.contentEncoding } : {}),
      bodyEncoding: 'base64',
      body: w.body.toString('base64'),
      at: new Date().toISOString(),
    };
    if (kind !== 'event') {
      for (const old of this.entries.filter((x) => x.kind === kind && x.path === path))
        await this.remove(old);
    }
    const tmp = join(this.dir, `.tmp-${randomBytes(6).toString('hex')}`);
    const fh = await fsp.open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(JSON.stringify(e));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, this.file(e));
    this.entries.push(e);
    while (this.entries.length > this.max) {
      const victim = this.entries.find((x) => x.kind === 'event') ?? this.entries[0];
      if (!victim) break;
      this.dropped++;
      await this.remove(victim);
    }
  }

  private async remove(e: JournalEntry): Promise<void> {
    this.entries = this.entries.filter((x) => x !== e);
    await fsp.rm(this.file(e), { force: true });
  }

  /** Replays in order; stops at the first network failure (the rest waits for the next reconnect). */
  replay(upstream: Upstream): Promise<ReplayResult> {
    this.replaying ??= this.doReplay(upstream).finally(() => {
      this.replaying = undefined;
    });
    return this.replaying;
  }

  private async doReplay(upstream: Upstream): Promise<ReplayResult> {
    const r: ReplayResult = { applied: 0, conflictsResolved: 0, dropped: 0, remaining: 0 };
    for (const e of [...this.entries]) {
      let outcome: 'applied' | 'resolved' | 'drop';
      try {
        outcome = await this.replayOne(upstream, e);
      } catch (err) {
        this.log.warn('journal.replay_paused', { seq: e.seq, path: e.path, error: (err as Error).message });
        break;
      }
      if (outcome === 'applied') r.applied++;
      else if (outcome === 'resolved') r.conflictsResolved++;
      else r.dropped++;
      await this.remove(e);
    }
    r.remaining = this.entries.length;
    this.log.info('journal.replayed', { ...r });
    return r;
  }

  private async replayOne(up: Upstream, e: JournalEntry): Promise<'applied' | 'resolved' | 'drop'> {
    const bytes = bodyBytes(e);
    const headers = e.contentEncoding ? { 'content-encoding': e.contentEncoding } : {};
    // The client's own bytes and Content-Type: protobuf events are accepted as they were sent.
    const first = await up.jsonRaw(e.method, e.path, bytes, e.contentType, 5_000, headers);
    if (first.status < 300) return 'applied';
    if (e.kind === 'event') {
      // Already created (a replay cut short after this entry landed): nothing is lost.
      if (first.status === 409 && e.method === 'POST') return 'drop';
      if (first.status === 404 && e.method === 'PATCH') {
        // kubelet PATCHes an event to bump its count; the event it updates expired (events have a
        // TTL) or its create was pushed out of the full journal. Counted, not an error.
        this.eventsGone++;
        this.log.info('journal.event_gone', { seq: e.seq, path: e.path });
        return 'drop';
      }
      return this.dropWith(e, first.status);
    }
    if (first.status !== 409) return this.dropWith(e, first.status);
    if (!isJsonType(e.contentType) || e.contentEncoding) {
      // A protobuf (or compressed) status write that conflicts cannot be re-applied on the fresh object
      // without decoding it, and the hub cannot make kubelet send JSON (it only chooses what kubelet
      // reads). Dropping it loses nothing lasting: kubelet writes its current status again within one
      // sync period once its reads reach the cloud (and kubelet itself sends status as JSON patches;
      // only other clients would send protobuf here). Counted
      // (edgefleet_hub_journal_stale_status_dropped_total), not reported as a rejection.
      this.staleStatusDropped++;
      this.log.info('journal.stale_status_dropped', { seq: e.seq, kind: e.kind, path: e.path });
      return 'drop';
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    } catch {
      return this.dropWith(e, first.status);
    }
    // Someone else changed the object meanwhile: re-read it and re-apply only what the node owns (status).
    if (e.method === 'PUT') {
      const cur = await up.json('GET', e.path);
      if (cur.status !== 200) return this.dropWith(e, cur.status);
      const merged = { ...(cur.body as Record<string, unknown>), status: body.status };
      const again = await up.json('PUT', e.path, merged);
      return again.status < 300 ? 'resolved' : this.dropWith(e, again.status);
    }
    const meta = body.metadata as Record<string, unknown> | undefined;
    if (meta) delete meta.resourceVersion;
    const again = await up.jsonRaw(e.method, e.path, JSON.stringify(body), e.contentType);
    return again.status < 300 ? 'resolved' : this.dropWith(e, again.status);
  }

  private dropWith(e: JournalEntry, status: number): 'drop' {
    this.rejected++;
    this.log.warn('journal.entry_rejected', { seq: e.seq, kind: e.kind, path: e.path, status });
    return 'drop';
  }
}

/** The entry's body as the client sent it. */
export function bodyBytes(e: JournalEntry): Buffer {
  return e.bodyEncoding === 'base64' ? Buffer.from(e.body, 'base64') : Buffer.from(e.body, 'utf8');
}

/** JSON and the JSON patch types (merge, strategic merge, JSON patch); protobuf and the rest are not. */
export function isJsonType(contentType: string): boolean {
  const t = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return t === 'application/json' || t.endsWith('+json');
}
