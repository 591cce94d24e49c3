import { describe, expect, it } from 'vitest';
import { nodeHealth, nodeHealthText } from './node-health.ts';
import type { NodeWire } from './types.ts';

const NOT_READY_SINCE = '2026-01-01T00:00:00Z';
const at = (minutes: number) => Date.parse(NOT_READY_SINCE) + minutes * 60_000;

function node(opts: {
  ready: 'True' | 'Unknown';
  autonomy?: 'True' | 'False';
  duration?: string;
  cordoned?: boolean;
}): NodeWire {
  return {
    name: 'n',
    ...(opts.duration !== undefined
      ? { annotations: { 'node.openyurt.io/autonomy-duration': opts.duration } }
      : {}),
    ...(opts.cordoned ? { unschedulable: true } : {}),
    conditions: [
      { type: 'Ready', status: opts.ready, since: NOT_READY_SINCE },
      ...(opts.autonomy ? [{ type: 'Autonomy', status: opts.autonomy }] : []),
    ],
  };
}

describe('node health', () => {
  it('tells a cut-off autonomous node from one that will be evicted', () => {
    expect(nodeHealth(node({ ready: 'Unknown', autonomy: 'True', duration: '0' }), at(600))).toBe(
      'autonomous',
    );
    // The annotation alone is not enough: the hub must have said autonomy will work.
    expect(nodeHealth(node({ ready: 'Unknown', autonomy: 'False', duration: '0' }), at(1))).toBe('not-ready');
    expect(nodeHealth(node({ ready: 'Unknown', duration: '0' }), at(1))).toBe('not-ready');
    // The hub's word without the annotation (someone removed it): pods will be evicted.
    expect(nodeHealth(node({ ready: 'Unknown', autonomy: 'True' }), at(1))).toBe('not-ready');
  });

  it('a finite autonomy duration runs out, counted from when the node went NotReady', () => {
    const n = node({ ready: 'Unknown', autonomy: 'True', duration: '30m' });
    expect(nodeHealth(n, at(29))).toBe('autonomous');
    expect(nodeHealth(n, at(31))).toBe('not-ready');
  });

  it('says cordoned for a Ready unschedulable node, and adds it to other states', () => {
    expect(nodeHealth(node({ ready: 'True', cordoned: true }))).toBe('cordoned');
    expect(nodeHealthText(node({ ready: 'True' }))).toBe('Ready');
    expect(nodeHealthText(node({ ready: 'Unknown', cordoned: true }))).toBe(
      'Not ready, will be evicted, cordoned',
    );
  });
});
