import { describe, expect, test } from 'vitest';
import type { NodeWire } from '../../../src-main/ipc/types.ts';
import { FleetData } from '../../store/fleet-data.ts';
import { PER_KIND, paletteItems } from './palette-items.ts';

const node = (name: string, pool: string, unschedulable = false): NodeWire => ({
  name,
  labels: { 'apps.openyurt.io/nodepool': pool },
  conditions: [{ type: 'Ready', status: 'True' }],
  ...(unschedulable ? { unschedulable } : {}),
});

function fleet(): FleetData {
  const f = new FleetData();
  const nodes = [node('north-0', 'north', true), node('north-1', 'north')];
  for (let i = 0; i < 50; i++) nodes.push(node(`edge-${i}`, 'edge'));
  f.load({
    clusterId: 'c',
    seq: 0,
    takenAt: '',
    connection: { state: 'connected' },
    flavor: { kind: 'edgefleet', nodePools: true, yurtAppSets: true, capabilities: [], explanation: '' },
    resources: {
      nodes: { state: { status: 'synced' }, items: nodes },
      nodepools: { state: { status: 'synced' }, items: [] },
      yurtappsets: { state: { status: 'synced' }, items: [] },
      pods: { state: { status: 'synced' }, items: [] },
      services: { state: { status: 'synced' }, items: [] },
      endpointslices: { state: { status: 'synced' }, items: [] },
      events: { state: { status: 'synced' }, items: [] },
    },
  } as never);
  return f;
}

describe('palette items', () => {
  test('a node query offers open, the cordon that fits its state, and drain', () => {
    const items = paletteItems(fleet(), 'north-0');
    expect(items.map((i) => i.label)).toEqual(['Open node north-0', 'Uncordon north-0', 'Drain north-0']);
    expect(items.find((i) => i.label.startsWith('Drain'))?.action).toBe('nodes:drain');
  });
  test('an empty query lists views and a capped number of each kind, without actions', () => {
    const items = paletteItems(fleet(), '');
    expect(items.filter((i) => i.group === 'Go to')).toHaveLength(8);
    expect(items.filter((i) => i.group === 'Nodes')).toHaveLength(PER_KIND);
    expect(items.filter((i) => i.action)).toEqual([]);
    expect(items.filter((i) => i.group === 'Pools').map((i) => i.label)).toEqual(['Pool edge', 'Pool north']);
  });
});
