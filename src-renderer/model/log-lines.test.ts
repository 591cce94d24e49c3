import { describe, expect, it } from 'vitest';
import { highlight, LogLines, matching } from './log-lines.ts';

const ls = (...t: string[]) => t.map((line) => ({ line }));

describe('LogLines', () => {
  it('keeps the last `cap` lines and counts what it dropped', () => {
    const b = new LogLines(3);
    b.append(ls('1', '2'));
    b.append(ls('3', '4', '5'));
    expect(b.lines.map((l) => l.line)).toEqual(['3', '4', '5']);
    expect(b.dropped).toBe(2);
    const v = b.version;
    b.append([]);
    expect(b.version).toBe(v);
  });

  it('search: matching lines ignoring case, and the pieces to highlight', () => {
    const lines = ls('GET /health 200', 'error: disk full', 'get /api 500');
    expect(matching(lines, 'get')).toEqual([0, 2]);
    expect(matching(lines, '')).toEqual([0, 1, 2]);
    expect(highlight('Get /get', 'get')).toEqual([
      { text: 'Get', hit: true },
      { text: ' /', hit: false },
      { text: 'get', hit: true },
    ]);
    expect(highlight('abc', 'x')).toEqual([{ text: 'abc', hit: false }]);
  });
});
