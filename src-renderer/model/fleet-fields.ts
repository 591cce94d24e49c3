/**
 * The pool form's free-text fields: labels as `key=value` lines and taints as
 * `key=value:Effect` lines, parsed with the line of the first mistake so the user can fix it
 * before anything is sent (main validates again).
 */
import type { PoolTaint, TaintEffect } from '../../src-main/ipc/fleet-types.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const KEY = /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$/;
const EFFECTS: TaintEffect[] = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

/** Non-empty lines with their 1-based line numbers; commas also separate (one-line input). */
function entries(text: string): { line: number; text: string }[] {
  return text
    .split('\n')
    .flatMap((l, i) => l.split(',').map((part) => ({ line: i + 1, text: part.trim() })))
    .filter((e) => e.text !== '');
}

function keyValue(e: { line: number; text: string }): Parsed<[string, string]> {
  const eq = e.text.indexOf('=');
  const key = (eq < 0 ? e.text : e.text.slice(0, eq)).trim();
  const value = eq < 0 ? '' : e.text.slice(eq + 1).trim();
  if (!KEY.test(key)) return { ok: false, error: `line ${e.line}: "${key}" is not a valid key` };
  if (!VALUE.test(value))
    return {
      ok: false,
      error: `line ${e.line}: "${value}" is not a valid value (63 letters, digits, - _ .)`,
    };
  return { ok: true, value: [key, value] };
}

export function parseLabels(text: string): Parsed<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of entries(text)) {
    const kv = keyValue(e);
    if (!kv.ok) return kv;
    out[kv.value[0]] = kv.value[1];
  }
  return { ok: true, value: out };
}

export function parseTaints(text: string): Parsed<PoolTaint[]> {
  const out: PoolTaint[] = [];
  for (const e of entries(text)) {
    const colon = e.text.lastIndexOf(':');
    const effect = colon < 0 ? '' : e.text.slice(colon + 1).trim();
    if (!EFFECTS.includes(effect as TaintEffect))
      return { ok: false, error: `line ${e.line}: end a taint with :${EFFECTS.join(', :')}` };
    const kv = keyValue({ line: e.line, text: e.text.slice(0, colon) });
    if (!kv.ok) return kv;
    const [key, value] = kv.value;
    out.push({ key, ...(value ? { value } : {}), effect: effect as TaintEffect });
  }
  return { ok: true, value: out };
}

export function formatLabels(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

export function formatTaints(taints: { key: string; value?: string; effect: string }[] | undefined): string {
  return (taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join('\n');
}
