import { PROCESS_METRICS, registerProcessMetrics } from '../metrics/process.ts';
import { type Catalog, metric, Registry } from '../metrics/registry.ts';

/** Every metric the hub can expose (docs/metrics.md is generated from this). */
export const HUB_METRICS = {
  requests: metric({
    name: 'edgefleet_hub_requests_total',
    type: 'counter',
    help: 'Requests by component (User-Agent product), verb, resource and HTTP code.',
    labels: ['component', 'verb', 'resource', 'code'],
  }),
  requestDuration: metric({
    name: 'edgefleet_hub_request_duration_seconds',
    type: 'histogram',
    help: 'Time to first response byte by verb and where it was served from (cloud|cache|local).',
    labels: ['verb', 'served_by'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
  cloudHealthy: metric({
    name: 'edgefleet_hub_cloud_healthy',
    type: 'gauge',
    help: '1 while the node Lease renews, else 0.',
    labels: [],
  }),
  offlineSeconds: metric({
    name: 'edgefleet_hub_offline_seconds_total',
    type: 'counter',
    help: 'Seconds the cloud has been unreachable since start.',
    labels: [],
  }),
  leaseRenewals: metric({
    name: 'edgefleet_hub_lease_renewals_total',
    type: 'counter',
    help: 'Successful node Lease renewals.',
    labels: [],
  }),
  leaseFailures: metric({
    name: 'edgefleet_hub_lease_failures_total',
    type: 'counter',
    help: 'Failed node Lease renewals.',
    labels: [],
  }),
  linkChecks: metric({
    name: 'edgefleet_hub_link_checks_total',
    type: 'counter',
    help: 'Link checks (/livez) sent because a proxied request got no answer in time (a cut is told from a slow answer).',
    labels: [],
  }),
  uplinkReceived: metric({
    name: 'edgefleet_hub_uplink_received_bytes_total',
    type: 'counter',
    help: 'Bytes received from the API servers.',
    labels: [],
  }),
  uplinkSent: metric({
    name: 'edgefleet_hub_uplink_sent_bytes_total',
    type: 'counter',
    help: 'Bytes sent to the API servers.',
    labels: [],
  }),
  upstreamWatches: metric({
    name: 'edgefleet_hub_upstream_watches_total',
    type: 'counter',
    help: 'Watches opened to the API servers (identical local watches share one).',
    labels: [],
  }),
  sharedWatchJoins: metric({
    name: 'edgefleet_hub_shared_watch_joins_total',
    type: 'counter',
    help: 'Local watches served by joining an upstream watch another client opened.',
    labels: [],
  }),
  cacheHits: metric({
    name: 'edgefleet_hub_cache_hits_total',
    type: 'counter',
    help: 'Reads answered from the disk cache.',
    labels: [],
  }),
  cacheMisses: metric({
    name: 'edgefleet_hub_cache_misses_total',
    type: 'counter',
    help: 'Cache reads that found nothing.',
    labels: [],
  }),
  cacheQuarantined: metric({
    name: 'edgefleet_hub_cache_quarantined_files_total',
    type: 'counter',
    help: 'Corrupt cache files moved aside.',
    labels: [],
  }),
  cacheNotCached: metric({
    name: 'edgefleet_hub_cache_responses_not_cached_total',
    type: 'counter',
    help: 'LIST/WATCH responses proxied without being cached (cache disk failing, stalled or too slow).',
    labels: [],
  }),
  cacheWritable: metric({
    name: 'edgefleet_hub_cache_writable',
    type: 'gauge',
    help: '1 while the cache accepts writes; 0 after ENOSPC/EROFS.',
    labels: [],
  }),
  cacheBytes: metric({
    name: 'edgefleet_hub_cache_bytes',
    type: 'gauge',
    help: 'Bytes of cache files on disk.',
    labels: [],
  }),
  diskFree: metric({
    name: 'edgefleet_hub_disk_free_bytes',
    type: 'gauge',
    help: 'Free bytes on the cache filesystem.',
    labels: [],
  }),
  diskSize: metric({
    name: 'edgefleet_hub_disk_size_bytes',
    type: 'gauge',
    help: 'Size in bytes of the cache filesystem.',
    labels: [],
  }),
  journalEntries: metric({
    name: 'edgefleet_hub_journal_entries',
    type: 'gauge',
    help: 'Offline writes waiting for replay.',
    labels: [],
  }),
  journalCapacity: metric({
    name: 'edgefleet_hub_journal_capacity_entries',
    type: 'gauge',
    help: 'Offline writes the journal holds before it drops the oldest (journalMaxEntries).',
    labels: [],
  }),
  journalDropped: metric({
    name: 'edgefleet_hub_journal_dropped_total',
    type: 'counter',
    help: 'Offline writes dropped because the journal was full.',
    labels: [],
  }),
  journalRejected: metric({
    name: 'edgefleet_hub_journal_rejected_total',
    type: 'counter',
    help: 'Journaled writes the API server refused on replay (logged as journal.entry_rejected).',
    labels: [],
  }),
  journalEventsGone: metric({
    name: 'edgefleet_hub_journal_events_gone_total',
    type: 'counter',
    help: 'Journaled event PATCHes dropped because the event no longer exists (404).',
    labels: [],
  }),
  journalStaleStatusDropped: metric({
    name: 'edgefleet_hub_journal_stale_status_dropped_total',
    type: 'counter',
    help: 'Protobuf status writes dropped on a replay conflict; kubelet sends a fresh status after reconnect.',
    labels: [],
  }),
  tokenCacheStored: metric({
    name: 'edgefleet_hub_token_cache_stored_total',
    type: 'counter',
    help: 'Service-account TokenRequest answers kept (encrypted) for offline restarts.',
    labels: [],
  }),
  tokenCacheServedOffline: metric({
    name: 'edgefleet_hub_token_cache_served_offline_total',
    type: 'counter',
    help: 'Service-account tokens answered from the cache while the cloud was unreachable.',
    labels: [],
  }),
  masterServiceServed: metric({
    name: 'edgefleet_hub_master_service_served',
    type: 'gauge',
    help: "1 while the secure proxy serves the master-service address and kubelet's default/kubernetes points there, else 0.",
    labels: [],
  }),
  clientCertExpiry: metric({
    name: 'edgefleet_hub_client_certificate_expiry_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time the node client certificate expires (0 before one is loaded).',
    labels: [],
  }),
  nodeReportWrites: metric({
    name: 'edgefleet_hub_node_report_writes_total',
    type: 'counter',
    help: 'Node report annotations (edgefleet.io/node-report) written to this Node.',
    labels: [],
  }),
  nodeReportBytes: metric({
    name: 'edgefleet_hub_node_report_written_bytes_total',
    type: 'counter',
    help: 'Bytes of the merge-patch bodies of the node report writes.',
    labels: [],
  }),
  nodeReportFailures: metric({
    name: 'edgefleet_hub_node_report_write_failures_total',
    type: 'counter',
    help: 'Node report writes the API server refused or did not answer (logged as node_report.patch_failed).',
    labels: [],
  }),
} as const satisfies Catalog;

/** Distinct User-Agent products counted by name; more than this are counted as "other". */
const MAX_COMPONENTS = 32;

/** The hub's registry: request metrics kept here, the rest read from live state when scraped. */
export class HubMetrics {
  readonly registry = new Registry(HUB_METRICS, PROCESS_METRICS);
  private readonly requests = this.registry.counter(HUB_METRICS.requests);
  private readonly latency = this.registry.histogram(HUB_METRICS.requestDuration);
  private readonly components = new Set<string>();

  constructor() {
    registerProcessMetrics(this.registry);
  }

  /** One proxied request; the component label is bounded because any local client names itself. */
  request(
    component: string,
    verb: string,
    resource: string,
    code: number,
    servedBy: string,
    seconds: number,
  ): void {
    if (!this.components.has(component)) {
      if (this.components.size < MAX_COMPONENTS) this.components.add(component);
      else component = 'other';
    }
    this.requests.inc({ component, verb, resource, code: String(code) });
    this.latency.observe({ verb, served_by: servedBy }, seconds);
  }

  render(): Promise<string> {
    return this.registry.render();
  }
}
