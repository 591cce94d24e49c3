import { describe, expect, it } from 'vitest';
import { LineSplitter } from './line-splitter.ts';

describe('LineSplitter', () => {
  it('splits across chunks, keeps multi-byte characters whole and drops CR of CRLF', () => {
    const s = new LineSplitter();
    const euro = Buffer.from('€');
    expect(s.push(Buffer.concat([Buffer.from('a\r\nb'), euro.subarray(0, 1)]))).toEqual([
      { text: 'a', truncated: false },
    ]);
    expect(s.push(Buffer.concat([euro.subarray(1), Buffer.from('\nc')]))).toEqual([
      { text: 'b€', truncated: false },
    ]);
    expect(s.end()).toEqual([{ text: 'c', truncated: false }]);
  });

  it('cuts a line at the limit and skips the rest of it', () => {
    const s = new LineSplitter(4);
    expect(s.push(Buffer.from('abcdefgh'))).toEqual([{ text: 'abcd', truncated: true }]);
    expect(s.push(Buffer.from('ijk\nok\n'))).toEqual([{ text: 'ok', truncated: false }]);
    expect(s.end()).toEqual([]);
  });
});
