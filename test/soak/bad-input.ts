/**
 * `npm run soak -- bad-input [--minutes N] [--seed S]` (issue 15, scenario 5): the bad-input
 * properties in rounds until the time is up, each round with a seed drawn from the run's seed, so
 * a failure is reproduced by the run's seed (or, alone, by the round's seed printed next to it).
 */

import { BAD_INPUT_PROPERTIES } from './bad-input.properties.ts';
import type { SoakScenario } from './soak.ts';

/** Runs of a weight-1 property per round; a round of all properties takes a few seconds. */
const RUNS_PER_ROUND = 500;

export const scenario: SoakScenario = {
  summary:
    'property-based bad input at every trust boundary (IPC, hub request parser and cache paths, kubeconfig, PKCS#10, node report)',
  defaultMinutes: 2,
  needsLab: false,
  async run(ctx) {
    let runs = 0;
    let rounds = 0;
    const failed = new Set<string>();
    const only = process.env.SOAK_ONLY;
    const props = BAD_INPUT_PROPERTIES.filter((p) => !only || p.name.includes(only));
    ctx.schedule(
      `${props.length} properties, ${RUNS_PER_ROUND} runs each per round (scaled by weight), until ${new Date(ctx.deadline).toISOString()}`,
    );
    // At least one round, whatever --minutes says: a soak that checked nothing proves nothing.
    do {
      rounds++;
      for (const p of props) {
        if (failed.has(p.name)) continue;
        const seed = Math.floor(ctx.random() * 2 ** 31);
        const numRuns = Math.max(10, Math.round(RUNS_PER_ROUND * p.weight));
        const r = await p.check({ seed, numRuns });
        runs += r.numRuns;
        if (r.failed) {
          failed.add(p.name);
          ctx.schedule(`round ${rounds}: FAILED ${p.name}: ${r.report}`);
        }
      }
      ctx.schedule(`round ${rounds} done: ${runs} runs so far, ${failed.size} properties failed`);
    } while (Date.now() < ctx.deadline);
    ctx.figure('properties', props.length);
    ctx.figure('rounds', rounds);
    ctx.figure('inputs tried', runs);
    ctx.figure('properties failed', failed.size, { text: '0', met: failed.size === 0 });
  },
};
