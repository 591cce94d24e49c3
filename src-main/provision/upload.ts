/**
 * Sends one artifact to a node, resumably: the compressed bytes are appended to a part file named
 * by their hash, so after a dropped link the next attempt continues at the part file's size; the
 * part is checked (sha256) before it is unpacked, and the unpacked file again before it is moved
 * into place. A node that already has the exact file gets nothing.
 */
import { open } from 'node:fs/promises';
import { AppError } from '../ipc/errors.ts';
import type { Artifact } from './artifacts.ts';
import { shq } from './remote.ts';
import type { RemoteShell, StepContext } from './types.ts';

export const STAGING_DIR = '/opt/edgefleet/.staging';
const CHUNK = 256 * 1024;

export async function remoteSha256(remote: RemoteShell, path: string): Promise<string | undefined> {
  const r = await remote.sh(`[ -f ${shq(path)} ] && sha256sum ${shq(path)} | cut -d' ' -f1 || true`, {
    log: false,
  });
  const sum = r.stdout.trim();
  return /^[0-9a-f]{64}$/.test(sum) ? sum : undefined;
}

export async function isPresent(remote: RemoteShell, a: Artifact): Promise<boolean> {
  return (await remoteSha256(remote, a.remotePath)) === a.sha256;
}

function diskFull(stderr: string): boolean {
  return /No space left on device/i.test(stderr);
}

function failed(what: string, host: string, stderr: string): AppError {
  if (diskFull(stderr))
    return new AppError(
      'provision/disk-full',
      `${host}: no space left while ${what}`,
      'Free space under /opt on the node (see "df -h /opt") and run again.',
    );
  return new AppError(
    'provision/upload-failed',
    `${host}: ${what} failed: ${stderr.trim() || 'no error output'}`,
  );
}

export async function uploadArtifact<F>(ctx: StepContext<F>, a: Artifact): Promise<void> {
  const { remote } = ctx;
  const part = `${STAGING_DIR}/${a.gz.sha256}.gz.part`;
  // A writer left by a dropped connection may still be appending what it had buffered: stop it
  // before trusting the part file's size.
  const prep = await remote.sh(
    `mkdir -p ${STAGING_DIR}
if [ -f ${shq(`${part}.pid`)} ]; then
  pid=$(cat ${shq(`${part}.pid`)}); kill "$pid" 2>/dev/null || true
  for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  rm -f ${shq(`${part}.pid`)}
fi
size=$(stat -c %s ${shq(part)} 2>/dev/null || echo 0)
if [ "$size" -gt ${a.gz.size} ]; then rm -f ${shq(part)}; size=0; fi
echo "$size"`,
    { log: false },
  );
  if (prep.code !== 0) throw failed(`preparing ${STAGING_DIR}`, ctx.host, prep.stderr);
  const offset = Number(prep.stdout.trim()) || 0;
  if (offset > 0) ctx.log(`${a.name}: resuming upload at ${offset} of ${a.gz.size} bytes`);
  const total = a.gz.size;
  let lastReport = 0;
  if (offset < total) {
    const pipe = await remote.pipe(`echo $$ > ${shq(`${part}.pid`)}; exec cat >> ${shq(part)}`);
    const fh = await open(a.gz.path, 'r');
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      let pos = offset;
      while (pos < total) {
        if (ctx.signal.aborted) throw new AppError('provision/cancelled', 'the run was cancelled');
        const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, total - pos), pos);
        if (bytesRead === 0) break;
        await pipe.write(Buffer.from(buf.subarray(0, bytesRead)));
        pos += bytesRead;
        const now = Date.now();
        if (now - lastReport > 200 || pos === total) {
          lastReport = now;
          // Bytes reported are what this attempt sent; the percent is of the whole file.
          ctx.progress(
            (pos / total) * 90,
            { sent: pipe.sent, total: total - offset },
            `${a.name}: ${pos}/${total} bytes`,
          );
        }
      }
    } catch (e) {
      // Count what this attempt really sent, even though it broke off between progress reports.
      ctx.progress((offset / total) * 90, { sent: pipe.sent, total: total - offset });
      throw e;
    } finally {
      await fh.close();
    }
    const end = await pipe.end();
    if (end.code !== 0) throw failed(`sending ${a.name}`, ctx.host, end.stderr);
    ctx.progress(90, { sent: pipe.sent, total: total - offset });
  }
  const tmp = `${a.remotePath}.edgefleet-new`;
  const unpack = await remote.sh(
    `rm -f ${shq(`${part}.pid`)}
got=$(sha256sum ${shq(part)} | cut -d' ' -f1)
if [ "$got" != ${shq(a.gz.sha256)} ]; then rm -f ${shq(part)}; echo "compressed ${a.name} arrived corrupt ($got), removed; send again" >&2; exit 30; fi
mkdir -p ${shq(a.remotePath.replace(/\/[^/]+$/, ''))}
gunzip -c ${shq(part)} > ${shq(tmp)}
got=$(sha256sum ${shq(tmp)} | cut -d' ' -f1)
if [ "$got" != ${shq(a.sha256)} ]; then rm -f ${shq(tmp)}; echo "${a.name} unpacked to a wrong checksum ($got)" >&2; exit 31; fi
chmod ${a.mode} ${shq(tmp)}
mv -f ${shq(tmp)} ${shq(a.remotePath)}
rm -f ${shq(part)}`,
    { log: false },
  );
  if (unpack.code !== 0) throw failed(`checking and unpacking ${a.name}`, ctx.host, unpack.stderr);
  ctx.log(`${a.name}: ${a.remotePath} in place (sha256 ${a.sha256.slice(0, 12)}…)`);
  ctx.progress(100);
}
