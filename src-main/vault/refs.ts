/**
 * A vault reference is what settings files hold instead of a secret: `vault:<kind>/<id>`.
 * The keychain account name is `<kind>/<id>` under the service `EdgeFleet`.
 */
export const SECRET_KINDS = [
  'kube-client-key',
  'kube-token',
  'kube-password',
  'ssh-private-key',
  'ssh-passphrase',
  'ssh-password',
  'bootstrap-token',
  /** Private key of the operator certificate for a tunnel server's access door. */
  'tunnel-client-key',
] as const;
export type SecretKind = (typeof SECRET_KINDS)[number];

export type VaultRef = `vault:${SecretKind}/${string}`;

const ID = /^[A-Za-z0-9._@:-]{1,200}$/;

export function makeRef(kind: SecretKind, id: string): VaultRef {
  if (!ID.test(id)) throw new Error(`vault id ${JSON.stringify(id)} must match ${ID}`);
  return `vault:${kind}/${id}`;
}

export function parseRef(ref: string): { kind: SecretKind; id: string; account: string } | null {
  const m = /^vault:([a-z-]+)\/(.+)$/.exec(ref);
  if (!m) return null;
  const kind = m[1] as SecretKind;
  const id = m[2] as string;
  if (!SECRET_KINDS.includes(kind) || !ID.test(id)) return null;
  return { kind, id, account: `${kind}/${id}` };
}

export function isVaultRef(value: unknown): value is VaultRef {
  return typeof value === 'string' && parseRef(value) !== null;
}
