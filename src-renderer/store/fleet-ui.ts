/**
 * UI state the fleet views share: the node selection (checkboxes, shift-click ranges; what
 * "assign", "autonomy" and drag and drop act on), the node page being shown (and the pod whose
 * logs or shell it shows), and the command palette. Kept apart from the data and the writes; rows select one boolean each.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';

export type PodViewMode = 'logs' | 'shell';

export interface FleetUiState {
  selected: ReadonlySet<string>;
  /** Where the last click was: a shift-click selects from here. */
  anchor: string | null;
  nodePage: string | null;
  /** The pod (`namespace/name`) whose logs or shell the node page shows. */
  podView: { key: string; mode: PodViewMode } | null;
  paletteOpen: boolean;

  /** `ordered`: the rows as shown, for shift-click ranges. */
  toggle(name: string, opts?: { range?: boolean; ordered?: string[] }): void;
  setSelection(names: string[]): void;
  openNode(name: string | null): void;
  openPod(view: { key: string; mode: PodViewMode } | null): void;
  setPalette(open: boolean): void;
}

export function createFleetUi(): StoreApi<FleetUiState> {
  return createStore<FleetUiState>()((set, get) => ({
    selected: new Set(),
    anchor: null,
    nodePage: null,
    podView: null,
    paletteOpen: false,

    toggle(name, opts = {}) {
      const { selected, anchor } = get();
      const next = new Set(selected);
      const ordered = opts.ordered ?? [];
      const from = anchor ? ordered.indexOf(anchor) : -1;
      const to = ordered.indexOf(name);
      if (opts.range && from >= 0 && to >= 0) {
        // A range takes the anchor's state, as file managers do.
        const on = selected.has(anchor as string);
        for (const n of ordered.slice(Math.min(from, to), Math.max(from, to) + 1))
          if (on) next.add(n);
          else next.delete(n);
      } else if (next.has(name)) next.delete(name);
      else next.add(name);
      set({ selected: next, anchor: name });
    },

    setSelection(names) {
      set({ selected: new Set(names), anchor: names.at(-1) ?? null });
    },

    openNode(name) {
      set({ nodePage: name, podView: null, paletteOpen: false });
    },

    openPod(view) {
      set({ podView: view });
    },

    setPalette(open) {
      set({ paletteOpen: open });
    },
  }));
}
