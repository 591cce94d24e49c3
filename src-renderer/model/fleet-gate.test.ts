import { describe, expect, test } from 'vitest';
import type { FleetCapabilities } from '../../src-main/ipc/fleet-types.ts';
import type { ConnectionInfo } from '../../src-main/ipc/types.ts';
import { gate } from './fleet-gate.ts';

const caps: FleetCapabilities = {
  clusterId: 'c',
  checkedAt: '2026-01-01T00:00:00Z',
  controlPlane: { kind: 'edgefleet', evidence: [], explanation: '' },
  served: {},
  actions: [
    { action: 'nodepools:create', label: 'create node pools', enabled: true },
    {
      action: 'nodes:drain',
      label: 'drain nodes',
      enabled: false,
      reason: 'Your account may not create pods/eviction in the cluster.',
    },
  ],
};
const connected = { state: 'connected' } as ConnectionInfo;

describe('gate', () => {
  test('connected: follows the capability, with its reason', () => {
    expect(gate('nodepools:create', caps, connected)).toEqual({ enabled: true });
    expect(gate('nodes:drain', caps, connected)).toEqual({
      enabled: false,
      reason: 'Your account may not create pods/eviction in the cluster.',
    });
    expect(gate('nodes:cordon', caps, connected).enabled).toBe(false);
  });
  test('not connected: every write is disabled, saying the state and that nothing is queued', () => {
    const g = gate('nodepools:create', caps, { state: 'unreachable' } as ConnectionInfo);
    expect(g).toEqual({ enabled: false, reason: expect.stringMatching(/unreachable.*nothing is queued/) });
  });
  test('before capabilities arrive, or when they failed', () => {
    expect(gate('nodepools:create', null, connected).reason).toMatch(/Checking/);
    expect(gate('nodepools:create', null, connected, 'timeout').reason).toMatch(/timeout/);
    expect(gate('nodepools:create', caps, undefined).reason).toMatch(/Open a cluster/);
  });
});
