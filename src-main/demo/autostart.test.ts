import { describe, expect, it } from 'vitest';
import { demoFlagsFromEnv, parseDemoFlags } from './autostart.ts';

describe('start.sh demo flags', () => {
  it('reads --demo and --demo-nodes in both spellings', () => {
    expect(parseDemoFlags([])).toEqual({ demo: false, nodes: 300 });
    expect(parseDemoFlags(['--demo'])).toEqual({ demo: true, nodes: 300 });
    expect(parseDemoFlags(['--demo', '--demo-nodes', '24'])).toEqual({ demo: true, nodes: 24 });
    expect(parseDemoFlags(['--demo-nodes=48'])).toEqual({ demo: true, nodes: 48 });
    expect(demoFlagsFromEnv({ EDGEFLEET_DEMO: '1', EDGEFLEET_DEMO_NODES: '30' })).toEqual({
      demo: true,
      nodes: 30,
    });
    expect(demoFlagsFromEnv({})).toEqual({ demo: false, nodes: 300 });
    // The button's count without --demo.
    expect(parseDemoFlags([], { EDGEFLEET_DEMO_NODES: '24' })).toEqual({ demo: false, nodes: 24 });
  });

  it('refuses a node count outside 12–2000 in one line', () => {
    expect(() => parseDemoFlags(['--demo-nodes', '5'])).toThrow(/from 12 to 2000, not "5"/);
    expect(() => parseDemoFlags(['--demo-nodes'])).toThrow(/not ""/);
    expect(() => parseDemoFlags(['--demo-nodes=1.5'])).toThrow(/whole number/);
  });
});
