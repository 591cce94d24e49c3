import { describe, expect, it } from 'vitest';
import type { AlertsDiff, AlertWire } from '../ipc/alerts-types.ts';
import { notesFor } from './notify.ts';

const alert = (name: string, critical = false): AlertWire => ({
  id: `EdgeFleetNodeOfflineNotAutonomous/${name}`,
  rule: 'EdgeFleetNodeOfflineNotAutonomous',
  severity: critical ? 'critical' : 'warning',
  state: 'firing',
  since: '2026-01-01T00:00:00Z',
  summary: `Node ${name} is offline.`,
  objects: [{ kind: 'Node', name }],
});

const diff = (alerts: AlertWire[], fired = alerts.map((a) => a.id)): AlertsDiff => ({
  clusterId: 'lab/edge',
  epoch: 'e',
  seq: 1,
  evaluatedAt: '2026-01-01T00:05:00Z',
  live: true,
  upserts: alerts,
  removes: [],
  fired,
});

describe('desktop notifications for alerts', () => {
  it('one per newly firing alert, nothing for alerts that were firing already', () => {
    const notes = notesFor(diff([alert('a', true), alert('b')], ['EdgeFleetNodeOfflineNotAutonomous/a']));
    expect(notes).toEqual([
      {
        title: 'Node offline and not autonomous (pods will be evicted) — edge',
        body: 'Node a is offline.',
        urgent: true,
      },
    ]);
    expect(notesFor(diff([alert('b')], []))).toEqual([]);
  });

  it('one summary when many fire at once', () => {
    const notes = notesFor(diff(['a', 'b', 'c', 'd', 'e'].map((n) => alert(n))));
    expect(notes).toHaveLength(1);
    expect(notes[0]?.title).toBe('5 alerts firing — edge');
  });
});
