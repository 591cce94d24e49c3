import type { Journal } from './journal.ts';
import type { HubMetrics } from './metrics.ts';
import type { TokenCache } from './token-cache.ts';

/** What happened to offline writes on replay and to cached service-account tokens. */
export function registerOfflineMetrics(m: HubMetrics, journal: Journal, tokens: TokenCache): void {
  m.gauge(
    'edgefleet_hub_journal_rejected_total',
    'Journaled writes the API server refused on replay (logged as journal.entry_rejected).',
    () => journal.rejected,
    'counter',
  );
  m.gauge(
    'edgefleet_hub_journal_events_gone_total',
    'Journaled event PATCHes dropped because the event no longer exists (404).',
    () => journal.eventsGone,
    'counter',
  );
  m.gauge(
    'edgefleet_hub_journal_stale_status_dropped_total',
    'Protobuf status writes dropped on a replay conflict; kubelet sends a fresh status after reconnect.',
    () => journal.staleStatusDropped,
    'counter',
  );
  m.gauge(
    'edgefleet_hub_token_cache_stored_total',
    'Service-account TokenRequest answers kept (encrypted) for offline restarts.',
    () => tokens.stored,
    'counter',
  );
  m.gauge(
    'edgefleet_hub_token_cache_served_offline_total',
    'Service-account tokens answered from the cache while the cloud was unreachable.',
    () => tokens.servedOffline,
    'counter',
  );
}
