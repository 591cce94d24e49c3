/**
 * The short form of the bad-input soak (issue 15, scenario 5) in `npm test`: every property with a
 * fixed seed and few runs (a few seconds in all). `npm run soak -- bad-input --minutes N --seed S`
 * runs the same properties with many more inputs.
 */
import { describe, expect, test } from 'vitest';
import { REQUEST_CHANNELS } from '../../src-main/ipc/contract.ts';
import { VALID_REQUESTS } from '../soak/bad-input.ipc.ts';
import { BAD_INPUT_PROPERTIES } from '../soak/bad-input.properties.ts';

const SEED = 20261203;
const RUNS = 100;

test('every IPC channel has a valid request to break (a new channel needs one in bad-input.ipc.ts)', () => {
  expect(Object.keys(VALID_REQUESTS).sort()).toEqual([...REQUEST_CHANNELS].sort());
});

describe('bad input', () => {
  for (const p of BAD_INPUT_PROPERTIES) {
    test(p.name, async () => {
      const r = await p.check({ seed: SEED, numRuns: Math.max(10, Math.round(RUNS * p.weight)) });
      expect(r.failed, r.report).toBe(false);
    });
  }
});
