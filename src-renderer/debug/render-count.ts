/**
 * Render counts per component, readable from the page (`window.__edgefleetRenders`): how the
 * e2e tests and the UI bench prove that a change re-rendered only the views that show it, and
 * counts of what arrived (`countArrival`: heartbeats, node upserts) as evidence that the input
 * was seen. A counter per render is cheap enough to leave on in every build.
 */
type Counts = Record<string, number>;
const g = globalThis as { __edgefleetRenders?: Counts };
const counts: Counts = g.__edgefleetRenders ?? {};
g.__edgefleetRenders = counts;

export function countRender(name: string): void {
  counts[name] = (counts[name] ?? 0) + 1;
}

export function countArrival(name: string, n = 1): void {
  counts[`arrived:${name}`] = (counts[`arrived:${name}`] ?? 0) + n;
}
