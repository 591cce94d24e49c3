import type { Journal } from './journal.ts';
import { HUB_METRICS, type HubMetrics } from './metrics.ts';
import type { TokenCache } from './token-cache.ts';

/** What happened to offline writes on replay and to cached service-account tokens. */
export function registerOfflineMetrics(m: HubMetrics, journal: Journal, tokens: TokenCache): void {
  const r = m.registry;
  r.collect(HUB_METRICS.journalRejected, () => journal.rejected);
  r.collect(HUB_METRICS.journalEventsGone, () => journal.eventsGone);
  r.collect(HUB_METRICS.journalStaleStatusDropped, () => journal.staleStatusDropped);
  r.collect(HUB_METRICS.tokenCacheStored, () => tokens.stored);
  r.collect(HUB_METRICS.tokenCacheServedOffline, () => tokens.servedOffline);
}
