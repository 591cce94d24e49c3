// `npm test`: everything CI runs, in order of cost. Type check and lint first (seconds),
// then prepare the lab's cached parts (Kubernetes binaries, host rootfs, images: slow only
// the first time on a machine), then all vitest projects. Ends with one plain summary line.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const results = '.vitest-results.json';

function step(name, cmd, args) {
  console.log(`\n[test] ${name}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`[test] ${name} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

if (process.getuid?.() !== 0 && process.env.EDGEFLEET_SKIP_LAB !== '1') {
  console.error(
    '[test] the lab tests need root (network namespaces, systemd-nspawn, kubelet): run `sudo -E npm test`, or EDGEFLEET_SKIP_LAB=1 npm test for unit tests only',
  );
  process.exit(1);
}

step('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
step('lint', 'npx', ['biome', 'check', '.']);
const projects = ['--project', 'unit'];
if (process.env.EDGEFLEET_SKIP_LAB !== '1') {
  step('build agent bundle', process.execPath, ['scripts/build-agent.mjs']);
  step('node runtimes for provisioning', process.execPath, ['scripts/node-runtimes.mjs']);
  step('lab prepare', process.execPath, ['test/lab/cli.ts', 'prepare']);
  projects.push('--project', 'lab');
}
rmSync(results, { force: true });
const r = spawnSync(
  'npx',
  ['vitest', 'run', ...projects, '--reporter=default', '--reporter=json', `--outputFile.json=${results}`],
  { stdio: 'inherit' },
);
try {
  const summary = JSON.parse(readFileSync(results, 'utf8'));
  const skipped = (summary.numPendingTests ?? 0) + (summary.numTodoTests ?? 0);
  // A file whose setup (beforeAll) fails has no failed test, only skipped ones: count the file.
  const failed = summary.numFailedTests || (summary.numFailedTestSuites ?? 0);
  console.log(`\n${summary.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
} catch (err) {
  console.error(`[test] could not read vitest results (${err.message})`);
}
process.exit(r.status ?? 1);
