/**
 * `npm run lab -- <command>` for people:
 *   prepare                      build/cache binaries and the host rootfs (slow once per machine)
 *   up [--hosts N] [--kwok N] [--kubelets N]
 *                                start a lab in .lab/ that keeps running; admin kubeconfig at .lab/kubeconfig
 *   status                       JSON: API server URL, hosts (address, link state), nodes
 *   down                         stop everything `up` started and remove its network
 */
import { copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Lab } from './lab.ts';

const LAB_DIR = resolve(process.env.EDGEFLEET_LAB_DIR ?? '.lab');

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      hosts: { type: 'string', default: '2' },
      kwok: { type: 'string', default: '3' },
      kubelets: { type: 'string', default: '1' },
    },
  });
  const command = positionals[0];
  switch (command) {
    case 'prepare':
      await Lab.prepare();
      return 0;
    case 'up': {
      const lab = await Lab.start({
        dir: LAB_DIR,
        detached: true,
        hosts: Number(values.hosts),
        kwokNodes: Number(values.kwok),
        kubelets: Number(values.kubelets),
      });
      await copyFile(lab.kubeconfig, join(LAB_DIR, 'kubeconfig'));
      console.log(`lab ${lab.id} is up: export KUBECONFIG=${join(LAB_DIR, 'kubeconfig')}`);
      return 0;
    }
    case 'status': {
      const status = await Lab.status(LAB_DIR);
      if (!status) {
        console.error(`no lab in ${LAB_DIR}: npm run lab -- up`);
        return 1;
      }
      console.log(JSON.stringify(status, null, 2));
      return 0;
    }
    case 'down':
      await Lab.downFromState(LAB_DIR);
      console.log(`lab in ${LAB_DIR} stopped and removed`);
      return 0;
    default:
      console.error(
        'usage: npm run lab -- prepare | up [--hosts N] [--kwok N] [--kubelets N] | status | down',
      );
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`lab: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
