/**
 * The one Prometheus registry of every agent role (text exposition 0.0.4, no dependency in the
 * agent bundle). A role declares its metrics once, as data (`MetricDef`s in a catalog), and a
 * registry only accepts definitions from the catalogs it was made with: so docs/metrics.md,
 * generated from the catalogs, lists exactly what a role can expose.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDef<L extends string = string> {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** Label names; every sample carries exactly these (keep their values few). */
  readonly labels: readonly L[];
  /** Histogram upper bounds in the metric's unit; +Inf is implied. */
  readonly buckets?: readonly number[];
}

/** A role's metrics by a short key, in the order they are exposed and documented. */
export type Catalog = Readonly<Record<string, MetricDef>>;

/** Keeps label names as a literal union, so a sample with a wrong label set does not compile. */
export function metric<const L extends string = never>(d: MetricDef<L>): MetricDef<L> {
  return d;
}

export type LabelValues<L extends string> = Readonly<Record<L, string>>;
/** What a collector returns at scrape time: one value (no labels) or one per label set. */
export type Sampled<L extends string> = number | Iterable<readonly [LabelValues<L>, number]>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(names: readonly string[], values: Readonly<Record<string, string>>, extra = ''): string {
  const parts = names.map((n) => `${n}="${escapeLabel(values[n] ?? '')}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

interface Family {
  readonly def: MetricDef;
  /** Samples in text form, rendered at scrape time. */
  lines(): Promise<string[]>;
}

export class Counter<L extends string> {
  readonly def: MetricDef<L>;
  private readonly values = new Map<string, { labels: LabelValues<L>; value: number }>();
  constructor(def: MetricDef<L>) {
    this.def = def;
  }
  inc(labels: LabelValues<L> = {} as LabelValues<L>, by = 1): void {
    const l = labels;
    const k = labelText(this.def.labels, l);
    const cur = this.values.get(k);
    if (cur) cur.value += by;
    else this.values.set(k, { labels: l, value: by });
  }
  get(labels: LabelValues<L> = {} as LabelValues<L>): number {
    return this.values.get(labelText(this.def.labels, labels))?.value ?? 0;
  }
  /** @internal */
  lines(): string[] {
    if (this.values.size === 0 && this.def.labels.length === 0) return [`${this.def.name} 0`];
    return [...this.values.entries()].map(([k, v]) => `${this.def.name}${k} ${formatValue(v.value)}`);
  }
}

export class Histogram<L extends string> {
  readonly def: MetricDef<L>;
  private readonly buckets: readonly number[];
  private readonly series = new Map<
    string,
    { labels: LabelValues<L>; counts: number[]; sum: number; count: number }
  >();
  constructor(def: MetricDef<L>) {
    this.def = def;
    this.buckets = def.buckets ?? [];
  }
  observe(labels: LabelValues<L>, v: number): void {
    const k = labelText(this.def.labels, labels);
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
  /** @internal */
  lines(): string[] {
    const { name, labels: names } = this.def;
    const out: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => {
        out.push(`${name}_bucket${labelText(names, s.labels, `le="${b}"`)} ${s.counts[i]}`);
      });
      out.push(`${name}_bucket${labelText(names, s.labels, 'le="+Inf"')} ${s.count}`);
      out.push(`${name}_sum${labelText(names, s.labels)} ${formatValue(s.sum)}`);
      out.push(`${name}_count${labelText(names, s.labels)} ${s.count}`);
    }
    return out;
  }
}

export class Registry {
  private readonly allowed = new Map<string, MetricDef>();
  private readonly order: string[] = [];
  private readonly families = new Map<string, Family[]>();

  constructor(...catalogs: Catalog[]) {
    for (const c of catalogs)
      for (const d of Object.values(c)) {
        if (this.allowed.has(d.name)) throw new Error(`metric ${d.name} is defined twice`);
        this.allowed.set(d.name, d);
        this.order.push(d.name);
      }
  }

  private add(def: MetricDef, family: Family): void {
    if (this.allowed.get(def.name) !== def) {
      throw new Error(`metric ${def.name} is not in this registry's catalogs (add it to the role's catalog)`);
    }
    const list = this.families.get(def.name) ?? [];
    if (list.length > 0 && def.type === 'histogram')
      throw new Error(`histogram ${def.name} registered twice`);
    list.push(family);
    this.families.set(def.name, list);
  }

  counter<L extends string>(def: MetricDef<L>): Counter<L> {
    if (def.type !== 'counter') throw new Error(`${def.name} is a ${def.type}, not a counter`);
    const c = new Counter(def);
    this.add(def, { def, lines: async () => c.lines() });
    return c;
  }

  histogram<L extends string>(def: MetricDef<L>): Histogram<L> {
    if (def.type !== 'histogram') throw new Error(`${def.name} is a ${def.type}, not a histogram`);
    const h = new Histogram(def);
    this.add(def, { def, lines: async () => h.lines() });
    return h;
  }

  /**
   * A counter or gauge whose value lives elsewhere and is read at scrape time. Several collectors
   * may share one definition (one per controller, say) as long as their label values differ.
   * A collector that throws exposes NaN (unlabelled) or nothing, rather than failing the scrape.
   */
  collect<L extends string>(def: MetricDef<L>, read: () => Sampled<L> | Promise<Sampled<L>>): void {
    if (def.type === 'histogram') throw new Error(`${def.name}: a histogram cannot be collected`);
    this.add(def, {
      def,
      lines: async () => {
        let v: Sampled<L>;
        try {
          v = await read();
        } catch {
          return def.labels.length === 0 ? [`${def.name} NaN`] : [];
        }
        if (typeof v === 'number') return [`${def.name}${labelText(def.labels, {})} ${formatValue(v)}`];
        return [...v].map(([l, n]) => `${def.name}${labelText(def.labels, l)} ${formatValue(n)}`);
      },
    });
  }

  async render(): Promise<string> {
    const out: string[] = [];
    for (const name of this.order) {
      const list = this.families.get(name);
      if (!list) continue;
      const def = list[0]?.def as MetricDef;
      out.push(`# HELP ${name} ${def.help}`, `# TYPE ${name} ${def.type}`);
      for (const f of list) out.push(...(await f.lines()));
    }
    return `${out.join('\n')}\n`;
  }
}
