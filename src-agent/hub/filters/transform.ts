import { ListSplitter } from '../list-splitter.ts';
import type { RequestInfo } from '../request-info.ts';
import { WatchDecoder } from '../watch-decoder.ts';
import { applyFilters } from './chain.ts';
import type { KubeObj, ResponseFilter } from './types.ts';

/**
 * A filtered response body: streamed for watches and LISTs (split item by item), buffered for a GET
 * (one object, whose status may change: a hidden GET is 404).
 */
export interface BodyTransform {
  /** True for GET: nothing is sent until end(), which may change the status. */
  readonly buffered: boolean;
  write(chunk: Buffer): void;
  end(): { status?: number; body?: Buffer };
  /** Stops listening for re-filter signals (the stream ended). */
  close(): void;
}

interface Items {
  items?: KubeObj[];
  [k: string]: unknown;
}

const keyOf = (o: KubeObj) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/**
 * Builds the transform for one response. For watches it remembers the unfiltered objects it saw, and on a
 * re-filter signal (pool membership changed) re-sends each as MODIFIED with its new filtered form — so a
 * client keeps a correct view without re-listing.
 */
export function createTransform(
  filters: readonly ResponseFilter[],
  info: RequestInfo,
  emit: (chunk: Buffer) => void,
  onRefilter: (fn: () => void) => () => void,
): BodyTransform {
  if (info.verb === 'list') return listTransform(filters, emit);
  if (info.verb !== 'watch') {
    const chunks: Buffer[] = [];
    return {
      buffered: true,
      write: (c) => chunks.push(c),
      end: () => {
        const raw = Buffer.concat(chunks);
        let doc: Items;
        try {
          doc = JSON.parse(raw.toString('utf8')) as Items;
        } catch {
          return { body: raw };
        }
        if (Array.isArray(doc.items)) {
          const items = doc.items.map((o) => applyFilters(filters, o)).filter((o) => o !== undefined);
          return { body: Buffer.from(JSON.stringify({ ...doc, items })) };
        }
        if (doc.kind === 'Status') return { body: raw };
        const out = applyFilters(filters, doc as KubeObj);
        if (out) return { body: Buffer.from(JSON.stringify(out)) };
        const name = (doc as KubeObj).metadata?.name ?? '';
        return {
          status: 404,
          body: Buffer.from(
            JSON.stringify({
              kind: 'Status',
              apiVersion: 'v1',
              metadata: {},
              status: 'Failure',
              reason: 'NotFound',
              code: 404,
              message: `${info.resource.resource} "${name}" not found (hidden from this node by a hub filter)`,
            }),
          ),
        };
      },
      close: () => undefined,
    };
  }
  const decoder = new WatchDecoder();
  // The unfiltered objects as JSON bytes, not parsed trees: a fraction of the memory for thousands of slices.
  const seen = new Map<string, Buffer>();
  const send = (type: string, object: KubeObj) => emit(Buffer.from(`${JSON.stringify({ type, object })}\n`));
  const unsubscribe = onRefilter(() => {
    for (const bytes of seen.values()) {
      const raw = JSON.parse(bytes.toString('utf8')) as KubeObj;
      const out = applyFilters(filters, raw);
      send(out ? 'MODIFIED' : 'DELETED', out ?? raw);
    }
  });
  return {
    buffered: false,
    write: (c) => {
      for (const ev of decoder.push(c)) {
        const obj = ev.object as KubeObj;
        if (ev.type === 'BOOKMARK' || ev.type === 'ERROR') {
          send(ev.type, obj);
          continue;
        }
        const k = keyOf(obj);
        if (ev.type === 'DELETED') {
          seen.delete(k);
          send('DELETED', applyFilters(filters, obj) ?? obj);
          continue;
        }
        seen.set(k, Buffer.from(JSON.stringify(obj)));
        const out = applyFilters(filters, obj);
        if (out) send(ev.type, out);
        // Hidden now but the client may have it from before: tell it the object is gone
        // (a DELETED for an object an informer never had is harmless).
        else if (ev.type === 'MODIFIED') send('DELETED', obj);
      }
    },
    end: () => ({}),
    close: unsubscribe,
  };
}

/**
 * A LIST filtered item by item as it streams: the envelope passes through, each item is parsed alone,
 * and sent as received when no filter changed it (byte for byte), re-serialized when one did, dropped
 * when one hid it. Memory is one item, whatever the size of the list.
 */
function listTransform(filters: readonly ResponseFilter[], emit: (chunk: Buffer) => void): BodyTransform {
  let first = true;
  let broken = false;
  // What one input chunk produced, sent as one write (not one tiny chunked frame per item).
  let out: Buffer[] = [];
  const splitter = new ListSplitter({
    envelope: (b) => out.push(Buffer.from(b)),
    item: (b) => {
      let obj: KubeObj;
      try {
        obj = JSON.parse(b.toString('utf8')) as KubeObj;
      } catch {
        return;
      }
      const kept = applyFilters(filters, obj);
      if (!kept) return;
      if (!first) out.push(COMMA);
      first = false;
      out.push(kept === obj ? b : Buffer.from(JSON.stringify(kept)));
    },
  });
  const flush = (): void => {
    if (out.length === 0) return;
    const chunk = out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
    out = [];
    emit(chunk);
  };
  return {
    buffered: false,
    write: (c) => {
      // Not a list document after all: what is left goes through as it is rather than being lost.
      if (broken) {
        emit(c);
        return;
      }
      try {
        splitter.push(c);
      } catch {
        broken = true;
      }
      flush();
    },
    end: () => ({}),
    close: () => undefined,
  };
}

const COMMA = Buffer.from(',');
