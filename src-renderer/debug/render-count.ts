/**
 * Render counts per component, readable from the page (`window.__edgefleetRenders`): how the
 * e2e tests and the UI bench prove that a change re-rendered only the views that show it.
 * A counter per render is cheap enough to leave on in every build.
 */
type Counts = Record<string, number>;
const g = globalThis as { __edgefleetRenders?: Counts };
const counts: Counts = g.__edgefleetRenders ?? {};
g.__edgefleetRenders = counts;

export function countRender(name: string): void {
  counts[name] = (counts[name] ?? 0) + 1;
}
