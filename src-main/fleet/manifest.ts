/**
 * A manifest the user pasted or picked: YAML or JSON (JSON is YAML). Parsed with client-node's
 * YAML loader (js-yaml, a dependency of client-node) until the `yaml` package is added; errors
 * carry the line and column so the editor can point at them.
 */
import { loadAllYaml } from '@kubernetes/client-node';
import { AppError } from '../ipc/errors.ts';

interface YamlError {
  name?: string;
  reason?: string;
  message?: string;
  mark?: { line: number; column: number };
}

export function parseManifest(text: string): Record<string, unknown>[] {
  let docs: unknown[];
  try {
    docs = loadAllYaml(text);
  } catch (e) {
    const y = e as YamlError;
    if (y.mark)
      throw new AppError(
        'fleet/bad-manifest',
        `Line ${y.mark.line + 1}, column ${y.mark.column + 1}: ${y.reason ?? y.message ?? 'not valid YAML'}`,
        'Fix the manifest at that line.',
      );
    throw new AppError('fleet/bad-manifest', `Not a valid YAML or JSON manifest: ${y.message ?? String(e)}`);
  }
  const objects = docs.filter((d) => d !== null && d !== undefined);
  for (const [i, d] of objects.entries())
    if (typeof d !== 'object' || Array.isArray(d))
      throw new AppError(
        'fleet/bad-manifest',
        `Document ${i + 1} is not an object.`,
        'Each document must be one Kubernetes object.',
      );
  return objects as Record<string, unknown>[];
}
