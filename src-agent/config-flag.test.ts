import { describe, expect, test } from 'vitest';
import { configFlag } from './config-flag.ts';

describe('--config', () => {
  test('takes --config <file> and --config=<file>, else the default', () => {
    expect(configFlag(['--config', '/a.yaml'], '/d')).toBe('/a.yaml');
    expect(configFlag(['--config=/b.yaml'], '/d')).toBe('/b.yaml');
    expect(configFlag([], '/d')).toBe('/d');
  });
  test('refuses a missing value and unknown arguments', () => {
    expect(() => configFlag(['--config'], '/d')).toThrow(/argument missing/);
    expect(() => configFlag(['--nope'], '/d')).toThrow(/Unknown option/);
    expect(() => configFlag(['stray'], '/d')).toThrow(/positional/);
  });
});
