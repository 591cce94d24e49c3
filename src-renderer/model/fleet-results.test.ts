import { describe, expect, test } from 'vitest';
import { bulkText, byPrevious, changedNodes } from './fleet-results.ts';

const r = {
  changed: 3,
  failed: 1,
  results: [
    { node: 'a', ok: true, previous: 'north' },
    { node: 'b', ok: true, previous: null },
    { node: 'c', ok: true, previous: 'north' },
    { node: 'd', ok: true, unchanged: true, previous: 'east' },
    { node: 'e', ok: false, error: { code: 'fleet/forbidden', message: 'no' } },
  ],
};

describe('bulk results', () => {
  test('undo groups the changed nodes by what they had before', () => {
    expect([...byPrevious(r.results)]).toEqual([
      ['north', ['a', 'c']],
      [null, ['b']],
    ]);
    expect(changedNodes(r)).toEqual(['a', 'b', 'c']);
  });
  test('says what changed, what already was so and what failed', () => {
    expect(bulkText('moved to east', r)).toBe('3 nodes moved to east, 1 already so, 1 failed: e: no');
  });
});
