import { describe, expect, it } from 'vitest';
import { streamError } from './kube-errors.ts';
import { exitOf } from './pod-exec.ts';
import { parseLogLine } from './pod-logs.ts';
import { journalctlCommand, parseJournalLine } from './service-logs.ts';

const logs = { verb: 'get', subresource: 'log', namespace: 'shop', pod: 'web-1', container: 'app' } as const;
const status = (code: number, message: string) =>
  JSON.stringify({ kind: 'Status', status: 'Failure', message, code });

describe('kubelet log lines', () => {
  it('split the timestamp from the text', () => {
    expect(parseLogLine('2026-01-02T03:04:05.123456789Z hello world', false)).toEqual({
      ts: '2026-01-02T03:04:05.123456789Z',
      line: 'hello world',
    });
    expect(parseLogLine('no stamp', true)).toEqual({ line: 'no stamp', truncated: true });
  });
});

describe('streamError', () => {
  it('403 names the verb, resource and namespace, and the rule that would allow it', () => {
    const e = streamError(
      { ...logs, verb: 'create', subresource: 'exec' },
      403,
      status(403, 'pods "web-1" is forbidden: User "bob" cannot create resource "pods/exec"'),
    );
    expect(e.code).toBe('kube/forbidden');
    expect(e.message).toMatch(/^Your account may not create pods\/exec in shop: pods "web-1" is forbidden/);
    expect(e.fix).toContain('resources: ["pods/exec"], verbs: ["create"]');
  });

  it('a wrong container, a missing previous run, an unreachable kubelet', () => {
    expect(streamError(logs, 400, status(400, 'container nope is not valid for pod web-1')).code).toBe(
      'kube/container-not-found',
    );
    expect(
      streamError(logs, 400, status(400, 'previous terminated container "app" in pod "web-1" not found'))
        .code,
    ).toBe('kube/no-previous');
    const cut = streamError(
      logs,
      500,
      status(
        500,
        'Get "https://198.18.0.5:10250/containerLogs/shop/web-1/app": dial tcp 198.18.0.5:10250: i/o timeout',
      ),
    );
    expect(cut.code).toBe('kube/node-unreachable');
    expect(cut.fix).toMatch(/tunnel agent/);
    expect(streamError(logs, 404, status(404, 'pods "web-1" not found')).code).toBe('kube/pod-not-found');
    expect(streamError(logs, 502, '<html>bad gateway</html>').code).toBe('kube/stream-failed');
  });
});

describe('exec status channel', () => {
  it('Success is exit 0; NonZeroExitCode carries the code; anything else is a failure to run', () => {
    expect(exitOf('{"metadata":{},"status":"Success"}')).toEqual({ exitCode: 0 });
    expect(
      exitOf(
        JSON.stringify({
          status: 'Failure',
          reason: 'NonZeroExitCode',
          message:
            'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
          details: { causes: [{ reason: 'ExitCode', message: '3' }] },
        }),
      ),
    ).toEqual({ exitCode: 3 });
    const r = exitOf(
      JSON.stringify({
        status: 'Failure',
        message: 'exec: "bash": executable file not found in $PATH',
      }),
    );
    expect(r.exitCode).toBeUndefined();
    expect(r.error?.code).toBe('kube/exec-failed');
    expect(r.error?.fix).toMatch(/does not exist in the container/);
  });
});

describe('journald', () => {
  it('the command asks only for our unit as JSON; the search pattern is quoted', () => {
    expect(journalctlCommand({ unit: 'edgefleet-hub', lines: 5 })).toBe(
      'exec journalctl -u edgefleet-hub.service -o json --no-pager -n 5',
    );
    const followed = journalctlCommand({
      unit: 'edgefleet-tunnel-agent',
      follow: true,
      grep: "it's; rm -rf /",
    });
    expect(followed).toContain(`--grep='it'\\''s; rm -rf /'`);
    expect(followed).toMatch(/ -f 3<&-$/);
  });

  it('entries become lines with microsecond timestamps and priority; binary messages are decoded', () => {
    expect(
      parseJournalLine(
        JSON.stringify({ MESSAGE: 'hub ready', __REALTIME_TIMESTAMP: '1767323045123456', PRIORITY: '6' }),
      ),
    ).toEqual({ line: 'hub ready', ts: '2026-01-02T03:04:05.123456Z', priority: 6 });
    expect(parseJournalLine(JSON.stringify({ MESSAGE: [104, 105] }))?.line).toBe('hi');
    expect(parseJournalLine('')).toBeUndefined();
  });
});
