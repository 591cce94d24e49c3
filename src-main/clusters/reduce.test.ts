import { describe, expect, it } from 'vitest';
import { reducePod } from './reduce.ts';

describe('reducePod', () => {
  it('keeps each app container with its own restart count (what logs and the shell pick from)', () => {
    const p = reducePod({
      metadata: { name: 'web-1', namespace: 'shop' },
      spec: {
        nodeName: 'n1',
        initContainers: [{ name: 'migrate', image: 'db:1' }],
        containers: [
          { name: 'app', image: 'web:2' },
          { name: 'proxy', image: 'envoy:1' },
        ],
      },
      status: {
        phase: 'Running',
        containerStatuses: [
          { name: 'proxy', restartCount: 3 },
          { name: 'app', restartCount: 0 },
        ],
      },
    });
    expect(p.containers).toEqual([
      { name: 'app', restarts: 0 },
      { name: 'proxy', restarts: 3 },
    ]);
    expect(p.restarts).toBe(3);
    expect(p.image).toBe('web:2');
  });
});
