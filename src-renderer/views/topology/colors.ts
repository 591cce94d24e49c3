import type { NodeHealth } from '../../../src-main/ipc/node-health.ts';

/** One colour per state, chosen to be told apart in both themes and by the common colour blindnesses. */
export const HEALTH_COLOR: Record<NodeHealth, string> = {
  ready: '#2e9d57',
  autonomous: '#2f7fd8',
  'not-ready': '#d9412b',
  cordoned: '#9a7bd0',
};
export const DIM_COLOR = '#8a8f98';
