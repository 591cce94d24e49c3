/** The one rule for naming an object on both sides of IPC: `namespace/name`, or `name` when cluster-scoped. */
export function wireKey(o: { name: string; namespace?: string | undefined }): string {
  return o.namespace ? `${o.namespace}/${o.name}` : o.name;
}
