import * as http from 'node:http';

/** Small HTTP helpers for tests that talk to a hub's proxy listener. */

export function get(
  address: string,
  path: string,
  ua: string,
): Promise<{ status: number; body: string; bytes: number }> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, headers: { 'user-agent': ua } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, body: b.toString('utf8'), bytes: b.length });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A watch whose lines are collected; `close()` aborts it. `ended()` is true once the stream is over
 * either way, `errored()` when it broke (aborted, reset) instead of ending cleanly.
 */
export function openWatch(address: string, path: string, ua: string, headers: http.OutgoingHttpHeaders = {}) {
  const [host, port] = address.split(':');
  const lines: string[] = [];
  let bytes = 0;
  let buf = '';
  let ended = false;
  let errored = false;
  const broke = () => {
    ended = true;
    errored = true;
  };
  const req = http.request({ host, port, path, headers: { 'user-agent': ua, ...headers } }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      bytes += Buffer.byteLength(c);
      buf += c;
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      lines.push(...parts.filter(Boolean));
    });
    res.on('end', () => {
      ended = true;
    });
    res.on('aborted', broke);
    res.on('error', broke);
  });
  req.on('error', broke);
  req.end();
  return {
    lines,
    bytes: () => bytes,
    ended: () => ended,
    errored: () => errored,
    close: () => req.destroy(),
  };
}

export async function until(
  cond: () => boolean | Promise<boolean>,
  ms = 5000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request to a hub listener with a body given as bytes (protobuf) and any headers. */
export function send(
  address: string,
  method: string,
  path: string,
  opts: { ua: string; body?: Buffer; headers?: http.OutgoingHttpHeaders },
): Promise<RawReply> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port, method, path, headers: { 'user-agent': opts.ua, ...opts.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
