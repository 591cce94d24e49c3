import { describe, expect, test } from 'vitest';
import { parseHubConfig } from './hub-config.ts';

const base = {
  nodeName: 'edge-1',
  servers: ['https://198.18.0.1:6443'],
  tls: { certFile: '/c', keyFile: '/k', caFile: '/ca' },
};

describe('hub config: node report settings', () => {
  test('cacheQuotaBytes and tunnelAgent are optional and read when given', () => {
    const none = parseHubConfig(base);
    expect(none.cacheQuotaBytes).toBeUndefined();
    expect(none.tunnelAgent).toBeUndefined();
    const c = parseHubConfig({
      ...base,
      cacheQuotaBytes: 1 << 30,
      tunnelAgent: { admin: '127.0.0.1:19266' },
    });
    expect(c.cacheQuotaBytes).toBe(1 << 30);
    expect(c.tunnelAgent).toEqual({
      admin: '127.0.0.1:19266',
      configFile: '/etc/edgefleet/tunnel-agent.yaml',
    });
  });

  test('a bad quota or a non-loopback tunnel agent admin is refused with the field named', () => {
    expect(() => parseHubConfig({ ...base, cacheQuotaBytes: '1Gi' })).toThrow(
      'hub config: cacheQuotaBytes: must be a positive number',
    );
    expect(() => parseHubConfig({ ...base, tunnelAgent: { admin: '198.18.0.5:10266' } })).toThrow(
      /tunnelAgent\.admin: "198\.18\.0\.5" is not loopback/,
    );
  });
});
