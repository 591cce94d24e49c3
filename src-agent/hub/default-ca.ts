import { readFile } from 'node:fs/promises';
import * as tls from 'node:tls';
import type { Logger } from './log.ts';

/**
 * Makes the cluster CA the process's only default trust root, so Node never parses its ~140 bundled
 * Mozilla roots (~2 MB RSS, measured on Node 24 with `npm run bench -- hub`). Node builds that root
 * store the first time any TLS context is made — even one given its own `ca`, which every hub client
 * connection is — so without this the hub pays for roots it never trusts. The hub unit also passes
 * `--use-openssl-ca`, which stops Node pre-loading the bundled roots on a thread when `tls` loads; the
 * default store then comes only from here. Call once at process start, before any TLS connection.
 * Not for library use: it changes the defaults of every TLS client in the process.
 */
export async function trustOnlyClusterCa(caFile: string, log: Logger): Promise<void> {
  // Node < 24.5 lacks the API; it then keeps its bundled roots, which costs memory, not correctness.
  if (typeof tls.setDefaultCACertificates !== 'function') return;
  try {
    tls.setDefaultCACertificates([await readFile(caFile)]);
  } catch (err) {
    // Not fatal here: the certificate manager reads the same file next and fails start-up with its hint.
    log.warn('hub.default_ca_not_set', { caFile, error: (err as Error).message });
  }
}
