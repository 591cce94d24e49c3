/**
 * The app's streams service as a renderer would use it: requests validated by the IPC contract's
 * schemas, events gathered per stream id, every batch acknowledged (unless told not to).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { StreamsService, type StreamsServiceOptions } from '../../src-main/fleet/streams.ts';
import {
  type EventChannel,
  type EventMap,
  REQUEST_SCHEMAS,
  type RequestOf,
  type ResponseOf,
} from '../../src-main/ipc/contract.ts';
import { AppError } from '../../src-main/ipc/errors.ts';
import type { StreamEnd, StreamLogLine } from '../../src-main/ipc/stream-types.ts';
import type { LabHost } from './host.ts';
import { until } from './until.ts';

type StreamChannel = keyof ReturnType<StreamsService['handlers']>;

export interface Recorded {
  lines: StreamLogLine[];
  stdout: string;
  stderr: string;
  seqs: number[];
  end?: StreamEnd;
}

export class StreamClient {
  readonly service: StreamsService;
  private readonly handlers: ReturnType<StreamsService['handlers']>;
  private readonly byId = new Map<string, Recorded>();
  autoAck = true;

  constructor(
    opts: Omit<StreamsServiceOptions, 'emit' | 'kubeConfigFor' | 'openSsh'> & {
      kubeConfigFor?: (clusterId: string) => Promise<KubeConfig>;
      openSsh?: StreamsServiceOptions['openSsh'];
    },
  ) {
    const missing = () => Promise.reject(new Error('not configured in this test'));
    this.service = new StreamsService({
      kubeConfigFor: missing,
      openSsh: missing,
      ...opts,
      emit: (channel, payload) => this.onEvent(channel, payload),
    });
    this.handlers = this.service.handlers();
  }

  /** A client whose every cluster id means the lab's admin kubeconfig at `path`. */
  static forKubeconfig(path: string, opts: Pick<StreamsServiceOptions, 'outbox'> = {}): StreamClient {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return new StreamClient({ ...opts, kubeConfigFor: async () => kc });
  }

  /** Validates like the router does, then calls the handler (errors thrown as AppError). */
  async call<C extends StreamChannel>(channel: C, input: RequestOf<C>): Promise<ResponseOf<C>> {
    const checked = REQUEST_SCHEMAS[channel](input);
    if (!checked.ok) throw new AppError('ipc/invalid-input', checked.reason);
    const handler = this.handlers[channel] as (i: unknown) => Promise<ResponseOf<C>> | ResponseOf<C>;
    return handler(checked.value);
  }

  rec(id: string): Recorded {
    let r = this.byId.get(id);
    if (!r) {
      r = { lines: [], stdout: '', stderr: '', seqs: [] };
      this.byId.set(id, r);
    }
    return r;
  }

  private onEvent<E extends EventChannel>(channel: E, payload: EventMap[E]): void {
    if (channel === 'stream:lines' || channel === 'stream:output') {
      const p = payload as EventMap['stream:lines'] | EventMap['stream:output'];
      const r = this.rec(p.streamId);
      r.seqs.push(p.seq);
      if ('lines' in p) r.lines.push(...p.lines);
      else {
        r.stdout += p.stdout ?? '';
        r.stderr += p.stderr ?? '';
      }
      if (this.autoAck) void this.call('streams:ack', { streamId: p.streamId, seq: p.seq });
    } else if (channel === 'stream:end') {
      const p = payload as StreamEnd;
      this.rec(p.streamId).end = p;
    }
  }

  waitFor<T>(
    what: string,
    id: string,
    check: (r: Recorded) => T | undefined,
    timeoutMs = 30_000,
  ): Promise<T> {
    return until(what, timeoutMs, async () => check(this.rec(id))).catch((e: Error) => {
      const r = this.rec(id);
      throw new Error(
        `${e.message}\nlines: ${JSON.stringify(r.lines.slice(-20))}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\nend: ${JSON.stringify(r.end)}`,
      );
    });
  }

  waitEnd(id: string, timeoutMs = 30_000): Promise<StreamEnd> {
    return this.waitFor('stream end', id, (r) => r.end, timeoutMs);
  }

  waitLine(id: string, re: RegExp, timeoutMs = 30_000): Promise<StreamLogLine> {
    return this.waitFor(`a line matching ${re}`, id, (r) => r.lines.find((l) => re.test(l.line)), timeoutMs);
  }
}

const FEED = '/run/ef-feed';

/**
 * A stand-in unit with our hub's name on an nspawn host: it logs "hub starting", then every line
 * appended to a feed file (`feedStandInHub`). Resolves once the journal has its first line.
 */
export async function startStandInHub(host: LabHost): Promise<void> {
  await host.run([
    'sh',
    '-c',
    [
      `touch ${FEED}`,
      'mkdir -p /run/systemd/system',
      `printf '[Service]\\nExecStart=/bin/sh -c "echo hub starting; exec tail -n0 -F ${FEED}"\\n' > /run/systemd/system/edgefleet-hub.service`,
      'systemctl daemon-reload',
      'systemctl restart edgefleet-hub',
    ].join(' && '),
  ]);
  await until(
    'the unit to log',
    15_000,
    async () =>
      (await host.run(['journalctl', '-u', 'edgefleet-hub', '-o', 'cat'])).includes('hub starting') ||
      undefined,
  );
}

/** The stand-in hub logs `line` (one journal entry). */
export async function feedStandInHub(host: LabHost, line: string): Promise<void> {
  await host.run(['sh', '-c', `echo ${JSON.stringify(line)} >> ${FEED}`]);
}
