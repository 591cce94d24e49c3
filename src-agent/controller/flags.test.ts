import { describe, expect, test } from 'vitest';
import { FlagError, parseFlags } from './flags.ts';

describe('controller flags', () => {
  test('parses both --flag value and --flag=value', () => {
    const f = parseFlags([
      '--kubeconfig',
      '/k',
      '--leader-elect=false',
      '--metrics-addr=0.0.0.0:9',
      '--controllers',
      'nodepool',
    ]);
    expect(f).toMatchObject({
      kubeconfig: '/k',
      leaderElect: false,
      metricsAddr: '0.0.0.0:9',
      controllers: ['nodepool'],
    });
  });
  test('webhook is off by default and takes its address and certificate files', () => {
    expect(parseFlags([]).webhookAddr).toBe('0');
    const f = parseFlags([
      '--webhook-addr=127.0.0.1:9443',
      '--webhook-cert-file',
      '/c',
      '--webhook-key-file=/k',
    ]);
    expect(f).toMatchObject({ webhookAddr: '127.0.0.1:9443', webhookCertFile: '/c', webhookKeyFile: '/k' });
  });
  test('rejects unknown flags and controllers with the usage', () => {
    expect(() => parseFlags(['--nope'])).toThrow(FlagError);
    expect(() => parseFlags(['--controllers=x'])).toThrow(/unknown controller "x"/);
    expect(() => parseFlags(['--workers=0'])).toThrow(/integer/);
  });
});

describe('--leader-elect', () => {
  test('takes true/false inline, as the next argument, or as --no-leader-elect', () => {
    expect(parseFlags([]).leaderElect).toBe(true);
    expect(parseFlags(['--leader-elect']).leaderElect).toBe(true);
    expect(parseFlags(['--leader-elect=false']).leaderElect).toBe(false);
    expect(parseFlags(['--leader-elect', 'false']).leaderElect).toBe(false);
    expect(parseFlags(['--leader-elect', 'true']).leaderElect).toBe(true);
    expect(parseFlags(['--no-leader-elect']).leaderElect).toBe(false);
    const f = parseFlags(['--leader-elect', '--workers', '3']);
    expect(f).toMatchObject({ leaderElect: true, workers: 3 });
  });
  test('refuses other values and stray arguments', () => {
    expect(() => parseFlags(['--leader-elect=yes'])).toThrow(/"yes" is not true or false/);
    expect(() => parseFlags(['--leader-elect', 'no'])).toThrow(FlagError);
    expect(() => parseFlags(['--kubeconfig'])).toThrow(FlagError);
  });
});

test('--node-workers defaults to 12 and takes a positive integer', () => {
  expect(parseFlags([]).nodeWorkers).toBe(12);
  expect(parseFlags(['--node-workers=3']).nodeWorkers).toBe(3);
  expect(() => parseFlags(['--node-workers', '0'])).toThrow(/integer/);
});
