/**
 * What node autonomy means in numbers, shared by the controller (which sets pods' tolerations)
 * and the app (which tells the user what setting an autonomy duration will do).
 */
import { ANNOTATION_AUTONOMY_DURATION, ANNOTATION_AUTONOMY_LEGACY, ANNOTATION_BINDING } from './labels.ts';

interface AnnotatedObject {
  metadata: { annotations?: Record<string, string> };
}

/** Parses a Go duration ("0", "90s", "1h30m", "1.5h") to whole seconds; undefined when invalid. */
export function parseGoDuration(s: string): number | undefined {
  const t = s.trim();
  if (t === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  let matched = 0;
  re.lastIndex = 0;
  while (re.lastIndex < t.length) {
    const m = re.exec(t);
    if (!m) return undefined;
    total += Number(m[1]) * (unit[m[2] as string] as number);
    matched++;
  }
  return matched ? Math.ceil(total) : undefined;
}

/**
 * The tolerationSeconds autonomy asks for on this node: null = tolerate forever, undefined = the
 * node is not autonomous.
 */
export function autonomySeconds(node: AnnotatedObject | undefined): number | null | undefined {
  const a = node?.metadata.annotations ?? {};
  const d = a[ANNOTATION_AUTONOMY_DURATION];
  if (d !== undefined) {
    const secs = parseGoDuration(d);
    if (secs !== undefined) return secs === 0 ? null : secs;
  }
  if (a[ANNOTATION_BINDING] === 'true' || a[ANNOTATION_AUTONOMY_LEGACY] === 'true') return null;
  return undefined;
}
