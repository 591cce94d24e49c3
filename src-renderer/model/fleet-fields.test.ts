import { describe, expect, test } from 'vitest';
import { formatLabels, formatTaints, parseLabels, parseTaints } from './fleet-fields.ts';

describe('pool form fields', () => {
  test('labels: lines or commas, round trip', () => {
    const r = parseLabels('site.example.com/name=north\n\nzone=a, tier=');
    expect(r).toEqual({ ok: true, value: { 'site.example.com/name': 'north', zone: 'a', tier: '' } });
    if (r.ok) expect(parseLabels(formatLabels(r.value))).toEqual(r);
  });
  test('a bad label names its line', () => {
    expect(parseLabels('a=b\nbad key=x')).toEqual({
      ok: false,
      error: 'line 2: "bad key" is not a valid key',
    });
    expect(parseLabels('a=has space')).toMatchObject({ ok: false, error: expect.stringMatching(/^line 1:/) });
  });
  test('taints need an effect; value optional; round trip', () => {
    const r = parseTaints('site.example.com/remote=yes:PreferNoSchedule\ndedicated:NoExecute');
    expect(r).toEqual({
      ok: true,
      value: [
        { key: 'site.example.com/remote', value: 'yes', effect: 'PreferNoSchedule' },
        { key: 'dedicated', effect: 'NoExecute' },
      ],
    });
    if (r.ok) expect(parseTaints(formatTaints(r.value))).toEqual(r);
    expect(parseTaints('x=y')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^line 1: end a taint/),
    });
  });
});
