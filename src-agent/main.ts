/**
 * edgefleet-agent: one program, one role per process. The role modules are loaded lazily so
 * a hub on a small node never loads controller code.
 */
type RoleMain = (args: string[]) => Promise<void>;

const roles: Record<string, () => Promise<RoleMain>> = {
  hub: async () => (await import('./hub/run.ts')).run,
  'tunnel-agent': async () => (await import('./tunnel/run.ts')).runAgent,
  'tunnel-server': async () => (await import('./tunnel/run.ts')).runServer,
  controller: async () => (await import('./controller/run.ts')).run,
};

const usage = `usage: edgefleet-agent <${Object.keys(roles).join('|')}> [--config <file>] [flags]`;

async function main(argv: string[]): Promise<number> {
  const [role, ...rest] = argv;
  if (!role || role === '--help' || role === '-h') {
    console.log(usage);
    return role ? 0 : 2;
  }
  if (role === '--version') {
    console.log(process.env.EDGEFLEET_VERSION ?? 'dev');
    return 0;
  }
  const load = roles[role];
  if (!load) {
    console.error(`edgefleet-agent: unknown role "${role}"\n${usage}`);
    return 2;
  }
  const run = await load();
  await run(rest);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`edgefleet-agent: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
