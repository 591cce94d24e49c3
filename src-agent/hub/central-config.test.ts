import { describe, expect, it } from 'vitest';
import type { HubConfig } from '../api/hub-config.ts';
import { autonomyCondition } from './autonomy-condition.ts';
import { mergeSettings } from './central-config.ts';

const base = { cacheAgents: ['from-file'] } as unknown as HubConfig;

describe('central config merge', () => {
  it('keeps OpenYurt defaults with no ConfigMaps', () => {
    const s = mergeSettings(base, undefined, undefined);
    expect(s.cacheAgents).toEqual(['from-file']);
    expect(s.filters.servicetopology).toEqual(['kube-proxy', 'coredns']);
    expect(s.filters.masterservice).toEqual(['kubelet']);
    expect(s.cacheSecrets).toBe(true);
  });
  it('adds yurt-hub-cfg agents and filter clients, then the pool override', () => {
    const s = mergeSettings(
      base,
      {
        cache_agents: 'foo, bar,kubelet',
        servicetopology: 'nginx-ingress',
        filter_masterservice: 'my-agent',
      },
      { cache_agents: 'pool-agent', cacheSecrets: 'false', disabledFilters: 'nodeportisolation' },
    );
    expect(s.cacheAgents.sort()).toEqual(['bar', 'foo', 'from-file', 'pool-agent']);
    expect(s.filters.servicetopology).toContain('nginx-ingress');
    expect(s.filters.masterservice).toEqual(['kubelet', 'my-agent']);
    expect(s.filters.nodeportisolation).toBeUndefined();
    expect(s.cacheSecrets).toBe(false);
  });
});

describe('autonomy condition', () => {
  const ok = { writable: true, reason: 'Ready', message: 'ok' };
  it('is Unknown before the node is seen, False without the annotation, True when the cache works', () => {
    expect(autonomyCondition({ annotations: undefined, cache: ok, certificatesLoaded: true }).status).toBe(
      'Unknown',
    );
    expect(autonomyCondition({ annotations: {}, cache: ok, certificatesLoaded: true })).toMatchObject({
      status: 'False',
      reason: 'AutonomyDisabled',
    });
    const on = { 'node.openyurt.io/autonomy-duration': '0' };
    expect(autonomyCondition({ annotations: on, cache: ok, certificatesLoaded: true }).status).toBe('True');
    expect(
      autonomyCondition({
        annotations: { 'node.beta.openyurt.io/autonomy': 'true' },
        cache: { writable: false, reason: 'CacheDiskFull', message: 'full' },
        certificatesLoaded: true,
      }),
    ).toMatchObject({ status: 'False', reason: 'CacheDiskFull' });
  });
});
