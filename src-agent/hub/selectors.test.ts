import { describe, expect, it } from 'vitest';
import {
  inScope,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  scopeFromQuery,
} from './selectors.ts';

const sel = (s: string, labels: Record<string, string>) => matchesLabels(parseLabelSelector(s), labels);

describe('label selectors', () => {
  it('handles =, ==, != (absent key matches !=)', () => {
    expect(sel('app=web', { app: 'web' })).toBe(true);
    expect(sel('app==web', { app: 'db' })).toBe(false);
    expect(sel('app!=web', {})).toBe(true);
    expect(sel('app!=web', { app: 'web' })).toBe(false);
  });
  it('handles in, notin, exists, !exists and combinations', () => {
    expect(sel('tier in (a, b)', { tier: 'b' })).toBe(true);
    expect(sel('tier in (a,b)', { tier: 'c' })).toBe(false);
    expect(sel('tier notin (a,b)', {})).toBe(true);
    expect(sel('tier notin (a,b)', { tier: 'a' })).toBe(false);
    expect(sel('example.com/x', { 'example.com/x': '' })).toBe(true);
    expect(sel('!x', { x: '1' })).toBe(false);
    expect(sel('app=web,tier in (a,b),!canary', { app: 'web', tier: 'a' })).toBe(true);
    expect(sel('app=web,tier in (a,b),!canary', { app: 'web', tier: 'a', canary: 'y' })).toBe(false);
    expect(sel('', { any: 'thing' })).toBe(true);
  });
  it('rejects garbage', () => {
    expect(() => parseLabelSelector('a=(b')).toThrow(/invalid selector/);
    expect(() => parseLabelSelector('a in b')).toThrow(/invalid selector/);
  });
});

describe('field selectors', () => {
  const pod = {
    metadata: { name: 'p', namespace: 'ns' },
    spec: { nodeName: 'n1' },
    status: { phase: 'Running' },
  };
  it('matches metadata.name, metadata.namespace, spec.nodeName, status.phase', () => {
    expect(matchesFields(parseFieldSelector('spec.nodeName=n1'), pod)).toBe(true);
    expect(matchesFields(parseFieldSelector('spec.nodeName=n2'), pod)).toBe(false);
    expect(matchesFields(parseFieldSelector('metadata.name==p,metadata.namespace!=kube-system'), pod)).toBe(
      true,
    );
    expect(matchesFields(parseFieldSelector('status.phase!=Running'), pod)).toBe(false);
    expect(matchesFields(parseFieldSelector('spec.nodeName='), { metadata: {} })).toBe(true);
  });
  it('scopes by namespace too', () => {
    const scope = scopeFromQuery('other', new URLSearchParams('fieldSelector=spec.nodeName%3Dn1'));
    expect(inScope(scope, pod)).toBe(false);
    expect(inScope(scopeFromQuery('ns', new URLSearchParams('fieldSelector=spec.nodeName%3Dn1')), pod)).toBe(
      true,
    );
  });
});
