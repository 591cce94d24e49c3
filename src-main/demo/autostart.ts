/**
 * `scripts/start.sh --demo [--demo-nodes N]`: the flags parsed in one place for both shells
 * (browser mode and Electron), and the demo's progress printed on the console as it goes.
 */
import type { MainApp } from '../app.ts';
import type { DemoStatus } from '../ipc/demo-types.ts';
import { DEFAULT_DEMO_NODES, MAX_DEMO_NODES, MIN_DEMO_NODES } from './topology.ts';

export interface DemoFlags {
  demo: boolean;
  nodes: number;
}

/**
 * Reads --demo and --demo-nodes N (or --demo-nodes=N); throws one line for a bad value.
 * `nodes` is also what the Clusters view's button starts, so it is set without --demo too.
 */
export function parseDemoFlags(argv: readonly string[], env: NodeJS.ProcessEnv = {}): DemoFlags {
  let demo = env.EDGEFLEET_DEMO === '1';
  let nodes = env.EDGEFLEET_DEMO_NODES ? checkNodes(env.EDGEFLEET_DEMO_NODES) : DEFAULT_DEMO_NODES;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--demo') demo = true;
    else if (arg === '--demo-nodes' || arg.startsWith('--demo-nodes=')) {
      nodes = checkNodes(arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i]);
      demo = true;
    }
  }
  return { demo, nodes };
}

function checkNodes(raw: string | undefined): number {
  const n = Number(raw);
  if (!raw || !Number.isInteger(n) || n < MIN_DEMO_NODES || n > MAX_DEMO_NODES)
    throw new Error(
      `--demo-nodes wants a whole number from ${MIN_DEMO_NODES} to ${MAX_DEMO_NODES}, not ${JSON.stringify(raw ?? '')}`,
    );
  return n;
}

/** The flags as environment, so `npm start` hands them to Electron's main process. */
export function demoFlagsFromEnv(env: NodeJS.ProcessEnv): DemoFlags {
  return parseDemoFlags([], env);
}

/** Starts the demo and prints each new status line (build steps with the expected time, start steps, errors). */
export function startDemoWithConsole(app: MainApp, nodes: number, print: (line: string) => void): void {
  let last = '';
  app.subscribe((channel, payload) => {
    if (channel !== 'demo:progress') return;
    const s = payload as DemoStatus;
    const line = `[demo] ${s.detail}${s.expected ? ` (${s.expected})` : ''}${s.error?.fix ? `\n[demo] fix: ${s.error.fix}` : ''}`;
    if (line !== last) print(line);
    last = line;
  });
  app.demo.start(nodes);
}
