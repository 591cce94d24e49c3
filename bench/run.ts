/**
 * `npm run bench -- <name>`: runs one benchmark module (bench/<name>.ts exporting `run()`),
 * which prints its figures. Benchmarks are never part of `npm test`: speed and memory
 * targets are measured here, not asserted in timed tests.
 */
import { readdirSync } from 'node:fs';

const available = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts'))
  .map((f) => f.slice(0, -3));

const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}>${name ? ` (no benchmark "${name}")` : ''}`);
  process.exit(2);
}
const mod = (await import(`./${name}.ts`)) as { run?: (args: string[]) => Promise<void> };
if (typeof mod.run !== 'function') {
  console.error(`bench/${name}.ts does not export run()`);
  process.exit(2);
}
await mod.run(process.argv.slice(3));
