import { describe, expect, test } from 'vitest';
import { yamlProblems } from './yaml-check.ts';

describe('YAML manifest check', () => {
  test('a parse error names its line', () => {
    const p = yamlProblems('kind: YurtAppSet\nmetadata:\n  name: [web\n');
    expect(p[0]).toMatch(/^line \d+:/);
  });
  test('a wrong kind is refused, a YurtAppSet passes', () => {
    expect(yamlProblems('kind: Deployment\n')).toEqual(['kind is "Deployment", expected YurtAppSet.']);
    expect(yamlProblems('kind: YurtAppSet\nmetadata: {name: web}\n')).toEqual([]);
  });
});
