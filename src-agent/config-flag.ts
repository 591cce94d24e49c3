/** The `--config <file>` argument the hub and tunnel roles take, parsed by node:util parseArgs. */
import { parseArgs } from 'node:util';

/** The --config value, or `fallback`; any other argument is refused (parseArgs' strict mode). */
export function configFlag(argv: string[], fallback: string): string {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  return values.config ?? fallback;
}
