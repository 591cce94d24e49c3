import { describe, expect, test } from 'vitest';
import { createFleetUi } from './fleet-ui.ts';

describe('node selection', () => {
  test('click toggles; shift-click selects the range from the last click', () => {
    const ui = createFleetUi();
    const ordered = ['a', 'b', 'c', 'd', 'e'];
    ui.getState().toggle('b', { ordered });
    ui.getState().toggle('d', { range: true, ordered });
    expect([...ui.getState().selected].sort()).toEqual(['b', 'c', 'd']);
    ui.getState().toggle('c', { ordered });
    expect([...ui.getState().selected].sort()).toEqual(['b', 'd']);
    // The anchor (c) is now off: a range from it clears.
    ui.getState().toggle('e', { range: true, ordered });
    expect([...ui.getState().selected].sort()).toEqual(['b']);
  });
});
