/**
 * What the events views and the error boundary ask of main besides the cluster state: one
 * object's events while a view shows them, and crash reports for main's log.
 */
import type { RequestOf } from '../../src-main/ipc/contract.ts';
import type { ObjectEventsUpdate } from '../../src-main/ipc/types.ts';
import type { Transport } from '../transport/transport.ts';

export type ObjectTarget = RequestOf<'events:watchObject'>;

export interface EventsClient {
  /** Opens the object's events; `onUpdate` gets every list main sends; the returned function closes them. */
  watchObject(
    target: ObjectTarget,
    onUpdate: (u: ObjectEventsUpdate) => void,
    onError: (e: { message: string; fix?: string }) => void,
  ): () => void;
  reportError(view: string, error: Error): void;
}

export function createEventsClient(transport: Transport): EventsClient {
  return {
    watchObject(target, onUpdate, onError) {
      let watchId: string | null = null;
      let closed = false;
      // An update may arrive before the answer that names its watch id: keep the latest per id.
      const early = new Map<string, ObjectEventsUpdate>();
      const off = transport.on('events:object', (u) => {
        if (closed) return;
        if (watchId === null) early.set(u.watchId, u);
        else if (u.watchId === watchId) onUpdate(u);
      });
      transport.invoke('events:watchObject', target).then(
        (r) => {
          watchId = r.watchId;
          if (closed) {
            void transport.invoke('events:unwatchObject', { watchId: r.watchId }).catch(() => {});
            return;
          }
          const first = early.get(r.watchId);
          early.clear();
          if (first) onUpdate(first);
        },
        (e: unknown) => {
          if (!closed) onError(e as { message: string; fix?: string });
        },
      );
      return () => {
        closed = true;
        off();
        if (watchId) void transport.invoke('events:unwatchObject', { watchId }).catch(() => {});
      };
    },
    reportError(view, error) {
      const stack = error.stack?.slice(0, 8_000);
      void transport
        .invoke('app:reportError', {
          view,
          message: (error.message || String(error)).slice(0, 2_000),
          ...(stack ? { stack } : {}),
        })
        // The report is best effort: the view already shows the error; say so on the console.
        .catch((e: unknown) => console.error('could not report a view error to main', e));
    },
  };
}
