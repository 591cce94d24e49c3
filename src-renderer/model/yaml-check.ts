/**
 * A YurtAppSet manifest checked in the renderer (the `yaml` package) so parse errors show with
 * their line numbers before anything is sent; main parses and validates it again.
 */
import { parseDocument } from 'yaml';

export function yamlProblems(text: string): string[] {
  if (!text.trim()) return ['Paste a YurtAppSet manifest.'];
  const doc = parseDocument(text);
  const out = doc.errors.map(
    (e) =>
      `line ${e.linePos?.[0]?.line ?? '?'}: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
  );
  if (out.length) return out;
  const v = doc.toJS() as { kind?: unknown } | null;
  if (!v || typeof v !== 'object') return ['The manifest is not an object.'];
  if (v.kind !== 'YurtAppSet') return [`kind is ${JSON.stringify(v.kind)}, expected YurtAppSet.`];
  return [];
}
