/**
 * One cluster's alerts: level-triggered evaluation of the rules (rules.ts) over the live state,
 * pending → firing once a condition held for the rule's `for`, firing → resolved when it stops
 * holding, as diffs for the renderer and the desktop notifier. Evaluation is a full pass over
 * indexed, already reduced objects, run at most once per `minIntervalMs` after a change, at the
 * next `for` deadline, and every `tickMs` for conditions that become true with time alone (a
 * certificate nearing expiry, an autonomy duration running out). While the cluster is not
 * connected nothing is re-evaluated: the last-known state is not news.
 */
import { randomUUID } from 'node:crypto';
import {
  ALERT_PROBLEMS_MAX,
  ALERT_RULE_BY_ID,
  type AlertCoverage,
  type AlertInputProblem,
  type AlertRules,
  type AlertsDiff,
  type AlertsSnapshot,
  type AlertWire,
  RESOLVED_KEPT,
} from '../ipc/alerts-types.ts';
import { evaluateRules, type Holding, ReportCache, type RuleInputs } from './rules.ts';

export interface AlertEngineOptions {
  clusterId: string;
  rules: AlertRules;
  /** The live state, read at each pass. */
  inputs: () => RuleInputs & { connected: boolean };
  onDiff: (d: AlertsDiff) => void;
  now?: () => number;
  /** At most one pass per this many ms after changes (default 1,000). */
  minIntervalMs?: number;
  /** A pass at least this often while connected (default 30,000). */
  tickMs?: number;
  /** Resolved alerts are kept this long (default 6 h), at most RESOLVED_KEPT of them. */
  keepResolvedMs?: number;
}

interface Tracked {
  wire: AlertWire;
  sinceMs: number;
  firstSeenMs: number;
  resolvedMs?: number;
}

const iso = (t: number) => new Date(t).toISOString();

/** Same summary and objects as what holds now. */
function sameContent(w: AlertWire, h: Holding): boolean {
  if (w.summary !== h.summary || (w.moreObjects ?? 0) !== (h.moreObjects ?? 0)) return false;
  if (w.objects.length !== h.objects.length) return false;
  for (let i = 0; i < h.objects.length; i++) {
    const a = w.objects[i];
    const b = h.objects[i];
    if (!a || !b || a.kind !== b.kind || a.name !== b.name || a.namespace !== b.namespace) return false;
  }
  return true;
}

export class AlertEngine {
  readonly epoch = randomUUID().slice(0, 8);
  private rules: AlertRules;
  private readonly o: Required<Omit<AlertEngineOptions, 'rules'>>;
  private readonly alerts = new Map<string, Tracked>();
  private readonly reports = new ReportCache();
  private problems: AlertInputProblem[] = [];
  private problemCount = 0;
  private coverage: AlertCoverage = { nodes: 'syncing', yurtappsets: 'syncing', reportingNodes: 0 };
  private seq = 0;
  private live = false;
  private evaluatedAt: number | undefined;
  private lastPass = Number.NEGATIVE_INFINITY;
  private passTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Passes run and their total time (the bench and tests read these). */
  readonly stats = { passes: 0, totalMs: 0, lastMs: 0 };

  constructor(options: AlertEngineOptions) {
    this.rules = options.rules;
    this.o = {
      clusterId: options.clusterId,
      inputs: options.inputs,
      onDiff: options.onDiff,
      now: options.now ?? Date.now,
      minIntervalMs: options.minIntervalMs ?? 1_000,
      tickMs: options.tickMs ?? 30_000,
      keepResolvedMs: options.keepResolvedMs ?? 6 * 3_600_000,
    };
    if (this.o.tickMs > 0) {
      this.tickTimer = setInterval(() => this.touch(), this.o.tickMs);
      this.tickTimer.unref?.();
    }
  }

  /** Something the rules read changed: a pass follows, at most one per minIntervalMs. */
  touch(): void {
    if (this.stopped || this.passTimer) return;
    const wait = Math.max(0, this.lastPass + this.o.minIntervalMs - this.o.now());
    this.passTimer = setTimeout(() => {
      this.passTimer = undefined;
      this.evaluate();
    }, wait);
  }

  /** New thresholds take effect at once: one pass now, its diff carrying the rules. */
  setRules(rules: AlertRules): void {
    this.rules = rules;
    this.evaluate(true);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.passTimer);
    clearTimeout(this.deadlineTimer);
    clearInterval(this.tickTimer);
  }

  snapshot(): AlertsSnapshot {
    const s: AlertsSnapshot = {
      clusterId: this.o.clusterId,
      epoch: this.epoch,
      seq: this.seq,
      live: this.live,
      alerts: [...this.alerts.values()].map((t) => t.wire),
      problems: this.problems,
      problemCount: this.problemCount,
      coverage: this.coverage,
      rules: this.rules,
    };
    if (this.evaluatedAt !== undefined) s.evaluatedAt = iso(this.evaluatedAt);
    return s;
  }

  /** One pass; returns the diff it emitted (null when nothing changed). Exposed for tests and the bench. */
  evaluate(rulesChanged = false): AlertsDiff | null {
    if (this.stopped) return null;
    clearTimeout(this.passTimer);
    this.passTimer = undefined;
    const started = performance.now();
    const now = this.o.now();
    this.lastPass = now;
    const input = this.o.inputs();
    const upserts: AlertWire[] = [];
    const removes: string[] = [];
    const fired: string[] = [];
    let liveChanged = false;
    if (this.live !== input.connected) {
      this.live = input.connected;
      liveChanged = true;
    }
    let extras: Pick<AlertsDiff, 'problems' | 'problemCount' | 'coverage'> = {};
    if (input.connected) {
      const pass = evaluateRules(input, this.rules, now, this.reports);
      this.evaluatedAt = now;
      const holding = new Map<string, Holding>();
      for (const h of pass.holding) holding.set(`${h.rule}/${h.key}`, h);
      const readable = (t: Tracked) => {
        const src = ALERT_RULE_BY_ID[t.wire.rule].source;
        return (src === 'yurtappsets' ? pass.coverage.yurtappsets : pass.coverage.nodes) === 'ok';
      };
      for (const [id, h] of holding) {
        const next = this.advance(id, h, now);
        if (next.changed) upserts.push((this.alerts.get(id) as Tracked).wire);
        if (next.fired) fired.push(id);
      }
      for (const [id, t] of this.alerts) {
        if (holding.has(id) || t.wire.state === 'resolved') continue;
        // A rule whose input cannot be read now (forbidden, re-listing) keeps its alerts as they were.
        if (!readable(t)) continue;
        if (t.wire.state === 'pending') {
          this.alerts.delete(id);
          removes.push(id);
        } else {
          t.resolvedMs = now;
          t.wire = { ...t.wire, state: 'resolved', resolvedAt: iso(now) };
          upserts.push(t.wire);
        }
      }
      removes.push(...this.pruneResolved(now));
      extras = this.inputsChanged(pass.problems, pass.coverage);
      this.armDeadline(now);
    }
    const ms = performance.now() - started;
    this.stats.passes++;
    this.stats.totalMs += ms;
    this.stats.lastMs = ms;
    if (!upserts.length && !removes.length && !liveChanged && !rulesChanged && !Object.keys(extras).length)
      return null;
    this.seq++;
    const diff: AlertsDiff = {
      clusterId: this.o.clusterId,
      epoch: this.epoch,
      seq: this.seq,
      evaluatedAt: iso(this.evaluatedAt ?? now),
      live: this.live,
      upserts,
      removes,
      fired,
      ...extras,
      ...(rulesChanged ? { rules: this.rules } : {}),
    };
    this.o.onDiff(diff);
    return diff;
  }

  /** One holding condition's alert, created or moved on; `changed` when the wire differs. */
  private advance(id: string, h: Holding, now: number): { changed: boolean; fired: boolean } {
    const prev = this.alerts.get(id);
    const fresh = !prev || prev.wire.state === 'resolved';
    const firstSeenMs = fresh ? now : prev.firstSeenMs;
    // A condition with no timestamp of its own holds since the app first saw it.
    const sinceMs = h.since ?? (fresh ? now : prev.sinceMs);
    const forMs = this.rules[h.rule].forMinutes * 60_000;
    const firing = now >= sinceMs + forMs;
    const wasFiring = !fresh && prev.wire.state === 'firing';
    // The common case at scale: an alert that holds as it did (no allocation, no string made).
    if (!fresh && prev.sinceMs === sinceMs && wasFiring === firing && sameContent(prev.wire, h)) {
      return { changed: false, fired: false };
    }
    const wire: AlertWire = {
      id,
      rule: h.rule,
      severity: ALERT_RULE_BY_ID[h.rule].severity,
      state: firing ? 'firing' : 'pending',
      since: iso(sinceMs),
      summary: h.summary,
      objects: h.objects,
    };
    if (h.moreObjects) wire.moreObjects = h.moreObjects;
    if (firing)
      wire.firingAt =
        wasFiring && prev?.wire.firingAt && prev.sinceMs === sinceMs
          ? prev.wire.firingAt
          : iso(Math.max(sinceMs + forMs, firstSeenMs));
    this.alerts.set(id, { wire, sinceMs, firstSeenMs });
    return { changed: true, fired: firing && !wasFiring };
  }

  private pruneResolved(now: number): string[] {
    const resolved = [...this.alerts.values()].filter((t) => t.wire.state === 'resolved');
    const gone: string[] = [];
    resolved.sort((a, b) => (b.resolvedMs ?? 0) - (a.resolvedMs ?? 0));
    resolved.forEach((t, i) => {
      if (i >= RESOLVED_KEPT || now - (t.resolvedMs ?? now) > this.o.keepResolvedMs) {
        this.alerts.delete(t.wire.id);
        gone.push(t.wire.id);
      }
    });
    return gone;
  }

  private inputsChanged(
    problems: AlertInputProblem[],
    coverage: AlertCoverage,
  ): Pick<AlertsDiff, 'problems' | 'problemCount' | 'coverage'> {
    const out: Pick<AlertsDiff, 'problems' | 'problemCount' | 'coverage'> = {};
    const listed = problems.slice(0, ALERT_PROBLEMS_MAX);
    if (problems.length !== this.problemCount || JSON.stringify(listed) !== JSON.stringify(this.problems)) {
      this.problems = listed;
      this.problemCount = problems.length;
      out.problems = listed;
      out.problemCount = problems.length;
    }
    if (JSON.stringify(coverage) !== JSON.stringify(this.coverage)) {
      this.coverage = coverage;
      out.coverage = coverage;
    }
    return out;
  }

  /** A pass when the next pending alert's `for` runs out. */
  private armDeadline(now: number): void {
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    let next = Number.POSITIVE_INFINITY;
    for (const t of this.alerts.values())
      if (t.wire.state === 'pending')
        next = Math.min(next, t.sinceMs + this.rules[t.wire.rule].forMinutes * 60_000);
    if (!Number.isFinite(next) || this.stopped) return;
    this.deadlineTimer = setTimeout(() => this.evaluate(), Math.max(0, next - now) + 1);
    this.deadlineTimer.unref?.();
  }
}
