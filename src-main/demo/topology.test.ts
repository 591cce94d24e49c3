import { describe, expect, it } from 'vitest';
import { ANNOTATION_AUTONOMY_DURATION, LABEL_NODEPOOL } from '../../src-agent/api/labels.ts';
import { KWOK_TAINT, kwokNodeObject } from './kwok.ts';
import {
  DEFAULT_DEMO_NODES,
  demoNodes,
  demoPools,
  distribute,
  MIN_DEMO_NODES,
  nodePoolObjects,
  yurtAppSetObjects,
} from './topology.ts';

describe('demo fleet topology', () => {
  it('distributes exactly the total, at least one each, by largest remainder', () => {
    expect(distribute(12, [4, 3, 2, 1])).toEqual([4, 3, 3, 2]);
    expect(distribute(4, [4, 3, 2, 1])).toEqual([1, 1, 1, 1]);
    expect(() => distribute(3, [4, 3, 2, 1])).toThrow(RangeError);
    for (const total of [12, 13, 24, 100, 299, 300, 2000]) {
      const shares = distribute(total, [4, 3, 2, 1, 4, 3, 2, 1, 4, 3, 2, 1]);
      expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
      expect(Math.min(...shares)).toBeGreaterThanOrEqual(1);
    }
  });

  it('has 3 sites × 4 pools; 300 nodes by default, 100 per site', () => {
    const pools = demoPools();
    expect(pools).toHaveLength(MIN_DEMO_NODES);
    expect(pools.map((p) => p.name)).toEqual([
      'berlin-sensors',
      'berlin-cameras',
      'berlin-kiosks',
      'berlin-gateways',
      'lyon-sensors',
      'lyon-cameras',
      'lyon-kiosks',
      'lyon-gateways',
      'oslo-sensors',
      'oslo-cameras',
      'oslo-kiosks',
      'oslo-gateways',
    ]);
    expect(pools.reduce((a, p) => a + p.nodes, 0)).toBe(DEFAULT_DEMO_NODES);
    expect(pools.filter((p) => p.site === 'berlin').map((p) => p.nodes)).toEqual([39, 30, 20, 11]);
    expect(demoPools(24).map((p) => p.nodes)).toEqual([3, 2, 2, 1, 3, 2, 2, 1, 3, 2, 2, 1]);
  });

  it('labels nodes with their pool and zone; cameras and gateways are autonomous, the rest not', () => {
    const nodes = demoNodes(demoPools(24));
    expect(nodes).toHaveLength(24);
    expect(new Set(nodes.map((n) => n.name)).size).toBe(24);
    const camera = nodes.find((n) => n.name === 'lyon-cameras-1');
    expect(camera?.labels?.[LABEL_NODEPOOL]).toBe('lyon-cameras');
    expect(camera?.labels?.['topology.kubernetes.io/zone']).toBe('lyon');
    expect(camera?.annotations?.[ANNOTATION_AUTONOMY_DURATION]).toBe('0');
    expect(nodes.find((n) => n.name === 'oslo-gateways-0')?.annotations?.[ANNOTATION_AUTONOMY_DURATION]).toBe(
      '1h',
    );
    expect(nodes.find((n) => n.name === 'berlin-sensors-0')?.annotations).toEqual({});
    expect(nodes.filter((n) => n.autonomous)).toHaveLength(9);
    // What kwok is given: its managed label and taint, our labels on top.
    const obj = kwokNodeObject(nodes[0] as (typeof nodes)[0]) as {
      metadata: { labels: Record<string, string> };
      spec: unknown;
    };
    expect(obj.metadata.labels['kwok.x-k8s.io/node']).toBe('fake');
    expect(obj.metadata.labels[LABEL_NODEPOOL]).toBe('berlin-sensors');
    expect(obj.spec).toEqual({ taints: [KWOK_TAINT] });
  });

  it('makes one Edge NodePool per pool and YurtAppSets over existing pools only', () => {
    const pools = demoPools(24);
    expect(nodePoolObjects(pools).map((p) => [p.metadata.name, p.spec.type])).toContainEqual([
      'oslo-kiosks',
      'Edge',
    ]);
    const names = new Set(pools.map((p) => p.name));
    const apps = yurtAppSetObjects(pools);
    expect(apps.map((a) => a.metadata.name)).toEqual(['camera-recorder', 'gateway-proxy', 'kiosk-ui']);
    for (const a of apps) {
      expect(a.spec.pools.length).toBe(3);
      for (const p of a.spec.pools) expect(names.has(p)).toBe(true);
    }
  });
});
