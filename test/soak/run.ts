/**
 * `npm run soak -- <name> [--minutes N] [--seed S]`: runs one soak scenario (test/soak/<name>.ts
 * exporting `scenario`), bounded in time, printing the seed, the schedule and the figures; exits 1
 * when a figure misses its goal (something was lost), 2 on bad usage. Soak runs are never part of
 * `npm test`; a short form of bad-input is (test/unit/bad-input.test.ts).
 */
import { existsSync, readdirSync } from 'node:fs';
import { formatFigure, runScenario, type SoakScenario } from './soak.ts';

const LAB_READY = '/work/notes/lab-ready';
const NOT_SCENARIOS = new Set(['run.ts', 'soak.ts']);

const available = readdirSync(new URL('.', import.meta.url))
  // <name>.ts is a scenario; helpers have a second dot (bad-input.properties.ts).
  .filter((f) => f.endsWith('.ts') && !NOT_SCENARIOS.has(f) && f.split('.').length === 2)
  .map((f) => f.slice(0, -3));

function usage(problem?: string): never {
  console.error(
    `usage: npm run soak -- <${available.join('|')}> [--minutes N] [--seed S]${problem ? `\n${problem}` : ''}`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): { name: string; minutes?: number; seed?: number } {
  const [name, ...rest] = argv;
  if (!name || name.startsWith('-')) usage();
  const out: { name: string; minutes?: number; seed?: number } = { name };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    const value = rest[i + 1];
    if (flag !== '--minutes' && flag !== '--seed') usage(`unknown argument ${JSON.stringify(flag)}`);
    const n = Number(value);
    if (value === undefined || !Number.isFinite(n) || n < 0)
      usage(`${flag} needs a non-negative number, got ${JSON.stringify(value ?? null)}`);
    if (flag === '--seed' && !Number.isInteger(n)) usage('--seed needs an integer');
    if (flag === '--minutes') out.minutes = n;
    else out.seed = n;
    i++;
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
if (!available.includes(args.name)) usage(`no soak scenario "${args.name}"`);
const mod = (await import(`./${args.name}.ts`)) as { scenario?: SoakScenario };
if (!mod.scenario) {
  console.error(`test/soak/${args.name}.ts does not export scenario`);
  process.exit(2);
}
const scenario = mod.scenario;
if (scenario.needsLab && !existsSync(LAB_READY) && process.env.EDGEFLEET_LAB_READY !== '1') {
  console.error(`soak ${args.name} starts lab parts; the lab is not prepared (no ${LAB_READY})`);
  process.exit(2);
}
// A seed that fits 32 bits: the PRNG and fast-check both take it as is.
const seed = args.seed ?? (Date.now() ^ (process.pid << 16)) >>> 0;
const minutes = args.minutes ?? scenario.defaultMinutes;
console.log(`soak ${args.name}: ${scenario.summary}`);
console.log(`seed: ${seed}`);
console.log(`minutes: ${minutes}`);
console.log('schedule:');
const t0 = Date.now();
const result = await runScenario(scenario, { seed, minutes });
console.log('figures:');
for (const f of result.figures) console.log(formatFigure(f));
console.log(`wall time: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`reproduce: npm run soak -- ${args.name} --minutes ${minutes} --seed ${seed}`);
if (result.missed.length > 0) {
  console.error(
    `${result.missed.length} figure(s) missed their goal: ${result.missed.map((f) => f.name).join(', ')}`,
  );
  process.exit(1);
}
