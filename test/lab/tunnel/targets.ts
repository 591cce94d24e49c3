/**
 * TCP services the tunnel tests reach on the "node" (run inside the host's network namespace):
 *   --echo PORT   echoes every byte back
 *   --blast PORT  reads a decimal byte count and a newline, writes that many bytes, then ends
 *   --relay PORT:TO  forwards each connection to 127.0.0.1:TO, both ways, nothing else (the bench's
 *                 baseline: what two plain forwarding processes cost, with no TLS and no multiplexing)
 * Prints one JSON line per connection open/close so tests can see what the node side saw.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    echo: { type: 'string', multiple: true },
    blast: { type: 'string', multiple: true },
    relay: { type: 'string', multiple: true },
  },
});
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
let nextId = 1;

function track(kind: string, port: number, sock: net.Socket): void {
  const id = nextId++;
  say({ event: 'open', kind, port, id });
  sock.on('error', () => {});
  sock.on('close', (hadError) => say({ event: 'close', kind, port, id, hadError }));
}

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

function blast(sock: net.Socket, total: number): void {
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!sock.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        sock.once('drain', pump);
        return;
      }
    }
    sock.end();
  };
  pump();
}

const servers: net.Server[] = [];
for (const p of values.echo ?? []) {
  const port = Number(p);
  servers.push(
    net
      .createServer((s) => {
        track('echo', port, s);
        s.pipe(s);
      })
      .listen(port, '0.0.0.0'),
  );
}
for (const p of values.blast ?? []) {
  const port = Number(p);
  servers.push(
    net
      .createServer((s) => {
        track('blast', port, s);
        let line = '';
        const onData = (c: Buffer) => {
          line += c.toString('latin1');
          const nl = line.indexOf('\n');
          if (nl < 0) return;
          s.off('data', onData);
          s.resume();
          blast(s, Number(line.slice(0, nl)));
        };
        s.on('data', onData);
      })
      .listen(port, '0.0.0.0'),
  );
}
for (const spec of values.relay ?? []) {
  const [port, to] = spec.split(':').map(Number);
  servers.push(
    net
      .createServer((s) => {
        track('relay', port ?? 0, s);
        const out = net.connect({ host: '127.0.0.1', port: to ?? 0 });
        out.on('error', () => s.destroy());
        s.on('error', () => out.destroy());
        s.pipe(out).pipe(s);
      })
      .listen(port, '127.0.0.1'),
  );
}
let listening = 0;
for (const s of servers) {
  s.on('listening', () => {
    if (++listening === servers.length) say({ event: 'ready' });
  });
}
process.on('SIGTERM', () => process.exit(0));
