/**
 * A tiny Prometheus text-format registry (no dependency in the agent bundle). Names are prefixed
 * `edgefleet_hub_` by the caller's choice of names.
 */

type Labels = Record<string, string>;

function labelText(l: Labels): string {
  const parts = Object.entries(l).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length ? `{${parts.join(',')}}` : '';
}

export class Counter {
  readonly name: string;
  readonly help: string;
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = labelText(labels);
    const cur = this.values.get(k);
    if (cur) cur.value += by;
    else this.values.set(k, { labels, value: by });
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const v of this.values.values()) lines.push(`${this.name}${labelText(v.labels)} ${v.value}`);
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    return lines.join('\n');
  }
}

export class Gauge {
  readonly name: string;
  readonly help: string;
  private readonly read: () => number | Promise<number>;
  private readonly type: 'gauge' | 'counter';
  constructor(
    name: string,
    help: string,
    read: () => number | Promise<number>,
    type: 'gauge' | 'counter' = 'gauge',
  ) {
    this.name = name;
    this.help = help;
    this.read = read;
    this.type = type;
  }
  async render(): Promise<string> {
    let v: number;
    try {
      v = await this.read();
    } catch {
      v = Number.NaN;
    }
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`, `${this.name} ${v}`].join(
      '\n',
    );
  }
}

export class Histogram {
  readonly name: string;
  readonly help: string;
  private readonly buckets: number[];
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();
  constructor(name: string, help: string, buckets: number[]) {
    this.name = name;
    this.help = help;
    this.buckets = buckets;
  }
  observe(labels: Labels, v: number): void {
    const k = labelText(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++)
      if (v <= (this.buckets[i] ?? 0)) s.counts[i] = (s.counts[i] ?? 0) + 1;
    s.sum += v;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => {
        lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i]}`);
      });
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines.join('\n');
  }
}

/** The hub's metrics; gauges read live state when scraped. */
export class HubMetrics {
  readonly requests = new Counter(
    'edgefleet_hub_requests_total',
    'Requests by component, verb, resource and HTTP code.',
  );
  readonly latency = new Histogram(
    'edgefleet_hub_request_duration_seconds',
    'Time to first response byte by verb and where it was served from (cloud|cache|local).',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  private readonly gauges: Gauge[] = [];

  /** A value read at scrape time; `counter` for monotonic totals kept elsewhere (e.g. bytes sent). */
  gauge(
    name: string,
    help: string,
    read: () => number | Promise<number>,
    type: 'gauge' | 'counter' = 'gauge',
  ): void {
    this.gauges.push(new Gauge(name, help, read, type));
  }

  async render(): Promise<string> {
    const parts = [this.requests.render(), this.latency.render()];
    for (const g of this.gauges) parts.push(await g.render());
    return `${parts.join('\n')}\n`;
  }
}
