import { describe, expect, it } from 'vitest';
import { demoError } from './errors.ts';
import { LabProcessError } from './proc.ts';
import { LabPrerequisiteError } from './toolchain.ts';

const LOG = '/home/me/.cache/edgefleet-demo/logs/build.log';

describe('demo start errors', () => {
  it('Go missing: says so and how to install it', () => {
    const e = demoError(
      new LabPrerequisiteError('Go toolchain not found: install Go >= 1.26 (/usr/local/go/bin on PATH)'),
      LOG,
    );
    expect(e).toEqual({
      code: 'demo/go-missing',
      message: "Cannot build the demo's Kubernetes binaries: Go toolchain not found.",
      fix: 'install Go >= 1.26 (/usr/local/go/bin on PATH)',
    });
  });

  it('missing Debian packages: the apt-get line is the fix', () => {
    const e = demoError(
      new LabPrerequisiteError('missing Debian package(s) openssl: run apt-get install -y openssl'),
      LOG,
    );
    expect(e.code).toBe('demo/packages-missing');
    expect(e.fix).toBe('run apt-get install -y openssl');
  });

  it('build failed: points at the build log', () => {
    const e = demoError(new Error('lab binary build failed (exit 1): go: no space left on device'), LOG);
    expect(e.code).toBe('demo/build-failed');
    expect(e.logPath).toBe(LOG);
    expect(e.message).toContain('no space left on device');
    expect(e.fix).toContain(LOG);
  });

  it('port busy: says to start again, with the program log', () => {
    const e = demoError(
      new LabProcessError(
        'etcd exited while waiting for etcd /health; log /d/logs/etcd.log:\nlisten tcp 127.0.0.1:2379: bind: address already in use',
        '/d/logs/etcd.log',
      ),
      LOG,
    );
    expect(e.code).toBe('demo/port-busy');
    expect(e.logPath).toBe('/d/logs/etcd.log');
  });

  it('another app already runs it; anything else names the log to read', () => {
    expect(
      demoError(new Error('a lab cluster is already running in /d (pids 1, 2): stop it first'), LOG).code,
    ).toBe('demo/already-running');
    const other = demoError(new LabProcessError('timed out after 90 s waiting for x', '/d/logs/x.log'), LOG);
    expect(other).toMatchObject({ code: 'demo/start-failed', logPath: '/d/logs/x.log' });
    expect(other.fix).toContain('/d/logs/x.log');
  });
});
