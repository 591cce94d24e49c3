/**
 * A pod's logs through the API server (GET pods/log), as timestamped lines. Errors before the
 * first byte reject the open (so the request itself answers with message + fix); a stream that
 * breaks later ends with the error.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { AppError } from '../ipc/errors.ts';
import type { StreamLogLine } from '../ipc/stream-types.ts';
import { kubeGet, kubeTarget, readSome } from './kube-connect.ts';
import { streamError, targetOf } from './kube-errors.ts';
import { LineSplitter } from './line-splitter.ts';
import type { Pausable } from './stream-source.ts';

export interface PodLogRequest {
  namespace: string;
  pod: string;
  container?: string;
  follow?: boolean;
  previous?: boolean;
  tailLines?: number;
  sinceSeconds?: number;
}

export interface LogSink {
  line(l: StreamLogLine, bytes: number): void;
  /** The body ended (`error` when it broke off rather than ended). */
  end(error?: AppError): void;
}

/** kubelet's `timestamps=true` prefix: RFC 3339 with nanoseconds, then one space. */
const TS = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) /;

export function parseLogLine(text: string, truncated: boolean): StreamLogLine {
  const m = TS.exec(text);
  const l: StreamLogLine = m ? { ts: m[1] as string, line: text.slice(m[0].length) } : { line: text };
  if (truncated) l.truncated = true;
  return l;
}

export async function openPodLogs(kc: KubeConfig, r: PodLogRequest, sink: LogSink): Promise<Pausable> {
  const q = new URLSearchParams({ timestamps: 'true' });
  if (r.container) q.set('container', r.container);
  if (r.follow) q.set('follow', 'true');
  if (r.previous) q.set('previous', 'true');
  if (r.tailLines !== undefined) q.set('tailLines', String(r.tailLines));
  if (r.sinceSeconds !== undefined) q.set('sinceSeconds', String(r.sinceSeconds));
  const path = `/api/v1/namespaces/${encodeURIComponent(r.namespace)}/pods/${encodeURIComponent(r.pod)}/log`;
  const target = await kubeTarget(kc, path, q);
  const { res, req } = await kubeGet(target);
  const what = targetOf('get', 'log', r);
  if (res.statusCode !== 200) throw streamError(what, res.statusCode ?? 0, await readSome(res));

  const splitter = new LineSplitter();
  let closed = false;
  const emit = (lines: { text: string; truncated: boolean }[]) => {
    for (const l of lines) sink.line(parseLogLine(l.text, l.truncated), l.text.length + 40);
  };
  res.on('data', (c: Buffer) => emit(splitter.push(c)));
  res.on('end', () => {
    emit(splitter.end());
    if (!closed) sink.end();
  });
  res.on('error', (e: Error) => {
    if (!closed)
      sink.end(
        new AppError(
          'kube/stream-broken',
          `The log stream of ${r.namespace}/${r.pod} broke off: ${e.message}`,
          'Open the logs again (with follow, lines written meanwhile are shown from the tail).',
        ),
      );
  });
  req.on('error', () => undefined);
  return {
    pause: () => res.pause(),
    resume: () => res.resume(),
    close: () => {
      closed = true;
      req.destroy();
    },
  };
}
