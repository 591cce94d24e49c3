import { describe, expect, it } from 'vitest';
import { layoutFleet } from './layout.ts';

describe('fleet layout', () => {
  it('places every node inside its pool square, pools of one site apart, sites stacked', () => {
    const pools = [
      { name: 'a', site: 's1', nodes: Array.from({ length: 10 }, (_, i) => `a-${i}`) },
      { name: 'b', site: 's1', nodes: ['b-0'] },
      { name: 'c', site: 's2', nodes: ['c-0', 'c-1'] },
    ];
    const l = layoutFleet(pools);
    expect(l.nodes.size).toBe(13);
    for (const box of l.pools) {
      for (const n of pools.find((p) => p.name === box.name)?.nodes ?? []) {
        const pos = l.nodes.get(n);
        expect(pos?.pool).toBe(box.name);
        expect(pos?.x).toBeGreaterThan(box.x);
        expect(pos?.x).toBeLessThan(box.x + box.side);
        expect(pos?.y).toBeGreaterThan(box.y);
        expect(pos?.y).toBeLessThan(box.y + box.side);
      }
    }
    const [a, b, c] = l.pools;
    expect((a?.x ?? 0) + (a?.side ?? 0)).toBeLessThan(b?.x ?? 0);
    expect(c?.y).toBeGreaterThan((a?.y ?? 0) + (a?.side ?? 0));
    expect(l.sites.map((s) => s.name)).toEqual(['s1', 's2']);
  });

  it('is linear: 5,000 nodes in 200 pools get distinct positions', () => {
    const pools = Array.from({ length: 200 }, (_, p) => ({
      name: `p${p}`,
      site: `s${p % 3}`,
      nodes: Array.from({ length: 25 }, (_, i) => `p${p}-n${i}`),
    }));
    const l = layoutFleet(pools);
    const seen = new Set([...l.nodes.values()].map((v) => `${v.x},${v.y}`));
    expect(seen.size).toBe(5_000);
  });
});
