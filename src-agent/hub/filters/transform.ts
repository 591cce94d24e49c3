import type { RequestInfo } from '../request-info.ts';
import { WatchDecoder } from '../watch-decoder.ts';
import { applyFilters } from './chain.ts';
import type { KubeObj, ResponseFilter } from './types.ts';

/** A filtered response body: streaming for watches, buffered for GET/LIST (which are one JSON document). */
export interface BodyTransform {
  /** True for GET/LIST: nothing is sent until end(), which may change the status (a hidden GET is 404). */
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
  const seen = new Map<string, KubeObj>();
  const send = (type: string, object: KubeObj) => emit(Buffer.from(`${JSON.stringify({ type, object })}\n`));
  const unsubscribe = onRefilter(() => {
    for (const raw of seen.values()) {
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
        seen.set(k, obj);
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
