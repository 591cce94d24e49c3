/**
 * Prometheus text-format metrics, kept tiny: counters and gauges with labels, plus a duration
 * summary (sum and count), which is all the controller needs for dashboards and the benchmark.
 */
type Labels = Record<string, string>;

const labelText = (l: Labels) => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};

interface Family {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, number>;
}

export class Metrics {
  private readonly families = new Map<string, Family>();
  private readonly gauges = new Map<string, () => number>();

  private family(name: string, help: string, type: Family['type']): Family {
    let f = this.families.get(name);
    if (!f) {
      f = { help, type, values: new Map() };
      this.families.set(name, f);
    }
    return f;
  }

  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const f = this.family(name, help, 'counter');
    const k = labelText(labels);
    f.values.set(k, (f.values.get(k) ?? 0) + by);
  }

  set(name: string, help: string, labels: Labels, value: number): void {
    this.family(name, help, 'gauge').values.set(labelText(labels), value);
  }

  /** A gauge read when scraped (queue depth, leadership). */
  gaugeFn(name: string, help: string, labels: Labels, fn: () => number): void {
    this.family(name, help, 'gauge');
    this.gauges.set(`${name}${labelText(labels)}`, fn);
  }

  observeSeconds(name: string, help: string, labels: Labels, seconds: number): void {
    this.inc(`${name}_sum`, help, labels, seconds);
    this.inc(`${name}_count`, help, labels);
  }

  render(): string {
    const out: string[] = [];
    for (const [name, f] of this.families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      for (const [l, v] of f.values) out.push(`${name}${l} ${v}`);
      for (const [series, fn] of this.gauges)
        if (series === name || series.startsWith(`${name}{`)) out.push(`${series} ${fn()}`);
    }
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    out.push(
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${mem.rss}`,
      '# TYPE process_cpu_seconds_total counter',
      `process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`,
    );
    return `${out.join('\n')}\n`;
  }
}
