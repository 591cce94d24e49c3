import { type Catalog, metric, type Registry } from './registry.ts';

/**
 * Process metrics under the names every Prometheus client library uses (process_*, nodejs_*), so
 * stock dashboards and queries work; the scrape job tells the roles apart.
 */
export const PROCESS_METRICS = {
  cpu: metric({
    name: 'process_cpu_seconds_total',
    type: 'counter',
    help: 'Total user and system CPU time spent in seconds.',
    labels: [],
  }),
  rss: metric({
    name: 'process_resident_memory_bytes',
    type: 'gauge',
    help: 'Resident memory size in bytes.',
    labels: [],
  }),
  start: metric({
    name: 'process_start_time_seconds',
    type: 'gauge',
    help: 'Start time of the process since unix epoch in seconds.',
    labels: [],
  }),
  heapUsed: metric({
    name: 'nodejs_heap_size_used_bytes',
    type: 'gauge',
    help: 'V8 heap in use in bytes.',
    labels: [],
  }),
  heapTotal: metric({
    name: 'nodejs_heap_size_total_bytes',
    type: 'gauge',
    help: 'V8 heap reserved in bytes.',
    labels: [],
  }),
  external: metric({
    name: 'nodejs_external_memory_bytes',
    type: 'gauge',
    help: 'Memory of C++ objects bound to JavaScript (Buffers included) in bytes.',
    labels: [],
  }),
  arrayBuffers: metric({
    name: 'nodejs_array_buffers_bytes',
    type: 'gauge',
    help: 'Memory of ArrayBuffers and Buffers in bytes.',
    labels: [],
  }),
} as const satisfies Catalog;

const startedAt = Date.now() / 1000 - process.uptime();

export function registerProcessMetrics(r: Registry): void {
  const m = PROCESS_METRICS;
  r.collect(m.cpu, () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1e6;
  });
  r.collect(m.rss, () => process.memoryUsage.rss());
  r.collect(m.start, () => startedAt);
  // Where the memory is (V8 heap vs buffers outside it), so RSS growth can be told apart from leaks.
  r.collect(m.heapUsed, () => process.memoryUsage().heapUsed);
  r.collect(m.heapTotal, () => process.memoryUsage().heapTotal);
  r.collect(m.external, () => process.memoryUsage().external);
  r.collect(m.arrayBuffers, () => process.memoryUsage().arrayBuffers);
}
