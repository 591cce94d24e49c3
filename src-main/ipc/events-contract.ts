/**
 * The events part of the IPC contract: one object's events on demand (the node page opens them
 * when it mounts and closes them when it unmounts), and a renderer error report for main's log.
 * The fleet feed itself is not here: it travels in `cluster:diff` as the `events` kind.
 */
import { CLUSTER_ID, DNS_LABEL, DNS_SUBDOMAIN } from './ids.ts';
import type { ObjectEventsUpdate } from './types.ts';
import { literal, object, optional, str, type Validator } from './validate.ts';

/** Made by main (src-main/clusters/object-events.ts). */
export const EVENTS_WATCH_ID = str({ min: 19, max: 19, pattern: /^ev-[0-9a-f]{16}$/ });

/** The kinds whose events a view may open; more kinds mean more field selectors, so few. */
export const EVENT_OBJECT_KINDS = ['Node', 'Pod', 'NodePool', 'YurtAppSet'] as const;

export const EVENTS_REQUEST_SCHEMAS = {
  /**
   * Opens the events (every type) of one object; answers with the watch id, then
   * `events:object` carries the whole bounded list on every change until `events:unwatchObject`.
   */
  'events:watchObject': object({
    clusterId: CLUSTER_ID,
    kind: literal(...EVENT_OBJECT_KINDS),
    /** For namespaced kinds (Pod, YurtAppSet). */
    namespace: optional(DNS_LABEL),
    name: DNS_SUBDOMAIN,
  }),
  'events:unwatchObject': object({ watchId: EVENTS_WATCH_ID }),
  /** A view crashed in the renderer (its error boundary caught it): main logs it, redacted. */
  'app:reportError': object({
    view: str({ min: 1, max: 100, printable: true }),
    message: str({ min: 1, max: 2_000 }),
    stack: optional(str({ max: 8_000 })),
  }),
} satisfies Record<string, Validator<unknown>>;

export interface EventsResponseMap {
  'events:watchObject': { watchId: string };
  'events:unwatchObject': null;
  'app:reportError': null;
}

export interface EventsEventMap {
  'events:object': ObjectEventsUpdate;
}
export const EVENTS_EVENT_CHANNELS = ['events:object'] as const;
