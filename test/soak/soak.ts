/**
 * What a soak scenario is and what it reports: a seeded random source (so a run is reproduced by
 * its seed), a printed schedule (what was injected when), and figures, one per line as
 * `name: value [goal]`. A figure with a goal that is missed makes the run exit non-zero.
 */

/** mulberry32: a small, fast 32-bit PRNG; the same seed gives the same schedule on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Figure {
  name: string;
  value: number | string | boolean;
  /** Shown in brackets, e.g. "0" or "≤ 60 s". */
  goal?: string;
  /** Set with a goal: whether the value meets it. */
  met?: boolean;
}

export interface SoakContext {
  seed: number;
  /** Uniform in [0, 1), from the seed. */
  random: () => number;
  /** When the scenario must stop starting new work (ms since the epoch). */
  deadline: number;
  minutes: number;
  /** One line of the schedule: what is done now, stamped with the time since the start. */
  schedule(line: string): void;
  /** Records one figure; `goal` (text) and `met` together make it a checked goal. */
  figure(name: string, value: Figure['value'], goal?: { text: string; met: boolean }): void;
}

export interface SoakScenario {
  /** One line for the usage text. */
  summary: string;
  /** Used when --minutes is not given. */
  defaultMinutes: number;
  /** Scenarios that start real parts say so; the runner refuses them before the lab is ready. */
  needsLab: boolean;
  run(ctx: SoakContext): Promise<void>;
}

export function formatFigure(f: Figure): string {
  return `${f.name}: ${String(f.value)}${f.goal === undefined ? '' : ` [${f.goal}]`}${f.met === false ? '  MISSED' : ''}`;
}

export interface SoakRun {
  figures: Figure[];
  missed: Figure[];
}

/** Runs one scenario with its context; figures are printed as they are recorded, through `print`. */
export async function runScenario(
  scenario: SoakScenario,
  opts: { seed: number; minutes: number; print?: (line: string) => void },
): Promise<SoakRun> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const started = Date.now();
  const figures: Figure[] = [];
  const ctx: SoakContext = {
    seed: opts.seed,
    random: prng(opts.seed),
    minutes: opts.minutes,
    deadline: started + opts.minutes * 60_000,
    schedule: (line) => print(`  [${((Date.now() - started) / 1000).toFixed(1).padStart(7)} s] ${line}`),
    figure: (name, value, goal) => {
      const f: Figure = goal ? { name, value, goal: goal.text, met: goal.met } : { name, value };
      figures.push(f);
    },
  };
  await scenario.run(ctx);
  return { figures, missed: figures.filter((f) => f.met === false) };
}
