/**
 * The fleet overview drawn in WebGL by sigma.js over a graphology graph: one graph node per
 * Kubernetes node plus one "tile" per pool. Zoomed out, pools are tiles with their counts;
 * zoomed in, nodes are dots coloured by state (semantic zoom). Positions come from layout.ts.
 *
 * Frame cost on software GL (SwiftShader, what headless Chromium and many VMs get) grows with
 * every node sigma holds, drawn or not: sigma 4 feeds hidden nodes to its programs too and
 * discards them in the shader. So each zoom level has its own graph holding only what it draws
 * (`tiles`: pool tiles; `dots`: faint tiles plus the nodes of the pools in or near the viewport,
 * added and dropped per pool as the camera moves) and crossing the threshold swaps graphs.
 * Labels are text quads laid out every frame: they are dropped while the camera moves, whoever
 * moves it, and come back once it rests.
 */
import { UndirectedGraph as Graph } from 'graphology';
import { useCallback, useEffect, useRef, useState } from 'react';
import Sigma from 'sigma';
import type { NodeHealth } from '../../../src-main/ipc/node-health.ts';
import type { FleetData, PoolSummary } from '../../store/fleet-data.ts';
import { DIM_COLOR, HEALTH_COLOR } from './colors.ts';
import type { FleetLayout } from './layout.ts';

export interface GraphFilter {
  pool: string;
  health: NodeHealth | '';
  /** `key=value` or `key` on node labels, or a node-name substring. */
  text: string;
  /** Nodes that host an endpoint of the overlaid Service; null when no overlay. */
  highlight: Set<string> | null;
}

/**
 * Zoomed in until the pools in view hold at most this many nodes, nodes are drawn as dots;
 * further out, pools are tiles with counts. Small fleets are always dots. A cap on what is in
 * view (not a camera ratio) keeps a frame's cost and a cull's rebuild bounded at any fleet
 * size: with a ratio threshold (0.45), 5,000 nodes meant 3,000–5,000 dots in the graph, frames
 * of 100+ ms and rebuilds of 0.1–0.9 s in software GL.
 */
const MAX_DOTS_IN_VIEW = 1000;
const DOTS_ALWAYS_UP_TO = 400;

type Attrs = {
  x: number;
  y: number;
  size: number;
  color: string;
  label: string;
  kind: 'node' | 'pool' | 'anchor';
  pool: string;
  /** A tile's member count (0 on nodes): what a tile stands for, read by the UI bench. */
  members: number;
};

/** The camera counts as resting once it has not moved for this long; then labels are drawn again. */
const LABELS_AFTER_REST_MS = 180;
/** Zoomed in, dots are drawn for the pools within this fraction of the viewport around it. */
const CULL_MARGIN = 0.15;

type Pos = { x: number; y: number; pool: string };

/** The smallest area (in cells) the view spans, so a fleet of five nodes is not drawn as five moons. */
const MIN_EXTENT = { width: 48, height: 18 };

function poolColor(s: PoolSummary): string {
  if (s.notReady > 0) return HEALTH_COLOR['not-ready'];
  if (s.autonomous > 0) return HEALTH_COLOR.autonomous;
  if (s.members > 0 && s.cordoned === s.members) return HEALTH_COLOR.cordoned;
  return HEALTH_COLOR.ready;
}

function nodeAttrs(fleet: FleetData, name: string, pos: Pos): Attrs {
  return {
    x: pos.x,
    y: -pos.y,
    size: 0.42,
    color: HEALTH_COLOR[fleet.nodeHealth(name) ?? 'not-ready'],
    label: name,
    kind: 'node',
    pool: pos.pool,
    members: 0,
  };
}

function matches(fleet: FleetData, name: string, f: GraphFilter): boolean {
  if (f.health && fleet.nodeHealth(name) !== f.health) return false;
  const q = f.text.trim();
  if (!q) return true;
  const n = fleet.get('nodes', name);
  const eq = q.indexOf('=');
  if (eq > 0) return n?.labels?.[q.slice(0, eq)] === q.slice(eq + 1);
  return name.includes(q) || Object.hasOwn(n?.labels ?? {}, q);
}

export function FleetGraph(props: {
  fleet: FleetData;
  layout: FleetLayout;
  healthVersion: number;
  filter: GraphFilter;
  selected: string | null;
  onSelect: (sel: { node: string } | { pool: string } | null) => void;
  focus: string | null;
}) {
  const container = useRef<HTMLDivElement>(null);
  const sigma = useRef<Sigma<Attrs> | null>(null);
  const graphs = useRef({ tiles: new Graph<Attrs>(), dots: new Graph<Attrs>() });
  /** Pools whose nodes are in the dots graph, and each pool's nodes (per layout). */
  const live = useRef(new Set<string>());
  const byPool = useRef(new Map<string, [string, Pos][]>());
  const layoutRef = useRef(props.layout);
  layoutRef.current = props.layout;
  const state = useRef({ filter: props.filter, selected: props.selected, dots: true, labelColor: '#1f2328' });
  const [error, setError] = useState<string | null>(null);
  const onSelect = useRef(props.onSelect);
  onSelect.current = props.onSelect;
  state.current.filter = props.filter;
  state.current.selected = props.selected;

  const fleetRef = useRef(props.fleet);
  fleetRef.current = props.fleet;

  /**
   * A new dots graph: the tiles (faint in the reducer), the corners and the nodes of `pools`.
   * Built detached and swapped in whole: sigma re-indexes once, where adding nodes one by one
   * to the graph it holds costs a refresh each.
   */
  const buildDots = useCallback((s: Sigma<Attrs>, pools: Iterable<string>) => {
    const g = new Graph<Attrs>();
    graphs.current.tiles.forEachNode((k, a) => g.addNode(k, { ...a }));
    for (const pool of pools)
      for (const [name, pos] of byPool.current.get(pool) ?? [])
        g.addNode(`node:${name}`, nodeAttrs(fleetRef.current, name, pos));
    live.current = new Set(pools);
    graphs.current.dots = g;
    s.setGraph(g);
  }, []);

  /** Pools whose box meets the viewport grown by `margin` (a fraction of its size). */
  const poolsAround = useCallback((s: Sigma<Attrs>, margin: number): string[] => {
    const { width, height } = s.getDimensions();
    const a = s.viewportToGraph({ x: -width * margin, y: -height * margin });
    const b = s.viewportToGraph({ x: width * (1 + margin), y: height * (1 + margin) });
    const [x0, x1] = [Math.min(a.x, b.x), Math.max(a.x, b.x)];
    const [y0, y1] = [Math.min(a.y, b.y), Math.max(a.y, b.y)];
    // Pool boxes are in layout space (y down); the graph's y points up.
    return layoutRef.current.pools
      .filter((p) => p.x < x1 && p.x + p.side > x0 && -(p.y + p.side) < y1 && -p.y > y0)
      .map((p) => p.name);
  }, []);

  /** Dots or tiles for what the camera shows now (see MAX_DOTS_IN_VIEW); O(pools). */
  const wantDots = useCallback(
    (s: Sigma<Attrs>): boolean => {
      if (layoutRef.current.nodes.size <= DOTS_ALWAYS_UP_TO) return true;
      let inView = 0;
      for (const p of poolsAround(s, 0)) inView += byPool.current.get(p)?.length ?? 0;
      return inView <= MAX_DOTS_IN_VIEW;
    },
    [poolsAround],
  );

  /**
   * Zoomed in on a large fleet: rebuilds the dots graph once a pool in view has no dots, with
   * the pools within a margin around the view, so a pan rebuilds only every so often.
   */
  const cull = useCallback(
    (s: Sigma<Attrs>) => {
      if (layoutRef.current.nodes.size <= DOTS_ALWAYS_UP_TO || !state.current.dots) return;
      if (poolsAround(s, 0).every((p) => live.current.has(p))) return;
      buildDots(s, poolsAround(s, CULL_MARGIN));
    },
    [buildDots, poolsAround],
  );

  // Sigma once per mount; the graph objects are reused across rebuilds.
  useEffect(() => {
    const el = container.current;
    if (!el) return;
    let s: Sigma<Attrs>;
    try {
      s = new Sigma(graphs.current.dots, el, {
        settings: {
          itemSizesReference: 'positions',
          zoomToSizeRatioFunction: (r: number) => r,
          labelRenderedSizeThreshold: 10,
          // Canvas text is the costly part of a frame on software GL: no labels while the camera
          // moves, and fewer of them at rest (one per grid cell).
          hideLabelsOnMove: true,
          labelDensity: 0.5,
          labelGridCellSize: 120,
          renderEdgeLabels: false,
          minCameraRatio: 0.01,
          maxCameraRatio: 4,
          stagePadding: 24,
        },
        nodeReducer: (key, data0, attrs) => {
          const st = state.current;
          const data = { ...data0, labelColor: st.labelColor };
          const f = st.filter;
          const fleet = fleetRef.current;
          if (attrs.kind === 'anchor') return { ...data, visibility: 'hidden' };
          if (attrs.kind === 'pool') {
            if (f.pool !== '' && attrs.pool !== f.pool) return { ...data, visibility: 'hidden' };
            // Zoomed in, the tile stays as a faint area behind its nodes, labelled with the pool's name.
            if (st.dots)
              return {
                ...data,
                color: `${data.color}26`,
                label: attrs.pool,
                size: data.size * 1.45,
                labelVisibility: 'visible',
              };
            return { ...data, visibility: 'visible', labelVisibility: 'visible' };
          }
          const name = key.slice(5);
          const shown = st.dots && (f.pool === '' || attrs.pool === f.pool) && matches(fleet, name, f);
          if (!shown) return { ...data, visibility: 'hidden' };
          const sel = st.selected === name;
          const lit = f.highlight ? f.highlight.has(name) : true;
          return {
            ...data,
            visibility: 'visible',
            color: lit ? data.color : DIM_COLOR,
            size: sel ? data.size * 1.8 : f.highlight && lit ? data.size * 1.4 : data.size,
            highlighted: sel,
            zIndex: sel || (f.highlight && lit) ? 1 : 0,
          };
        },
      });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      return;
    }
    sigma.current = s;
    s.on('clickNode', ({ node }) => {
      if (node.startsWith('pool:')) onSelect.current({ pool: node.slice(5) });
      else if (node.startsWith('node:')) onSelect.current({ node: node.slice(5) });
    });
    s.on('clickStage', () => onSelect.current(null));
    const camera = s.getCamera();
    let rest: ReturnType<typeof setTimeout> | undefined;
    let moves = 0;
    let resting = true;
    // Rest is "no move for a while AND none in the next frame": a slow frame alone must not
    // count as rest, or labels would flap on and off (each flip re-indexes) mid-gesture.
    const settle = () => {
      const seen = moves;
      requestAnimationFrame(() =>
        requestAnimationFrame(() => {
          if (moves !== seen || sigma.current !== s) return;
          resting = true;
          s.setSetting('renderLabels', true);
        }),
      );
    };
    const onCamera = () => {
      moves++;
      const dots = wantDots(s);
      if (dots !== state.current.dots) {
        state.current.dots = dots;
        // Into dots: the cull below builds them for this viewport.
        if (dots) live.current.clear();
        else s.setGraph(graphs.current.tiles);
      }
      cull(s);
      if (resting) {
        resting = false;
        s.setSetting('renderLabels', false);
      }
      clearTimeout(rest);
      rest = setTimeout(settle, LABELS_AFTER_REST_MS);
    };
    camera.on('updated', onCamera);
    // Labels follow the theme (the canvas does not see CSS).
    const readTheme = () => {
      state.current.labelColor =
        getComputedStyle(document.documentElement).getPropertyValue('--fg').trim() || '#1f2328';
      s.refresh({ skipIndexation: true });
    };
    readTheme();
    const themeWatch = new MutationObserver(readTheme);
    themeWatch.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    (globalThis as { __edgefleetSigma?: unknown }).__edgefleetSigma = s;
    return () => {
      themeWatch.disconnect();
      clearTimeout(rest);
      camera.off('updated', onCamera);
      s.kill();
      sigma.current = null;
    };
  }, [cull, wantDots]);

  // Rebuild positions when membership changed (layout is a new object then).
  // biome-ignore lint/correctness/useExhaustiveDependencies: the layout is the trigger; fleet is read through props.
  useEffect(() => {
    const { tiles } = graphs.current;
    tiles.clear();
    const { layout, fleet } = props;
    for (const p of layout.pools) {
      const s = fleet.poolSummary(p.name);
      const tile: Attrs = {
        x: p.x + p.side / 2,
        y: -(p.y + p.side / 2),
        size: Math.max(0.8, p.side / 2),
        color: poolColor(s),
        label: `${p.name} ${s.ready + s.cordoned}/${s.members}`,
        kind: 'pool',
        pool: p.name,
        members: s.members,
      };
      tiles.addNode(`pool:${p.name}`, tile);
    }
    // Two hidden corners: sigma fits the graph's extent to the canvas, and a small fleet must not
    // fill it; the fleet sits in the middle of that area. Dots graphs copy them, so swapping graphs
    // keeps the camera on the same spot.
    const corner = { size: 0, color: '#0000', label: '', kind: 'anchor' as const, pool: '', members: 0 };
    const padX = Math.max(0, MIN_EXTENT.width - layout.width) / 2;
    const padY = Math.max(0, MIN_EXTENT.height - layout.height) / 2;
    tiles.addNode('anchor:0', { ...corner, x: -padX, y: padY });
    tiles.addNode('anchor:1', { ...corner, x: layout.width + padX, y: -(layout.height + padY) });
    byPool.current = new Map();
    for (const [name, pos] of layout.nodes) {
      const list = byPool.current.get(pos.pool);
      if (list) list.push([name, pos]);
      else byPool.current.set(pos.pool, [[name, pos]]);
    }
    live.current.clear();
    const s = sigma.current;
    if (!s) return;
    if (layout.nodes.size <= DOTS_ALWAYS_UP_TO) {
      state.current.dots = true;
      buildDots(s, byPool.current.keys());
      return;
    }
    // Tiles first: processing them fixes the viewport → graph mapping the cull reads (both
    // graphs share the corners, hence the extent).
    state.current.dots = false;
    if (s.getGraph() !== tiles) s.setGraph(tiles);
    else s.refresh();
    if (wantDots(s)) {
      state.current.dots = true;
      cull(s);
    }
  }, [props.layout]);

  // Node states changed: recolour in place (no relayout).
  // biome-ignore lint/correctness/useExhaustiveDependencies: healthVersion is the trigger.
  useEffect(() => {
    const { tiles, dots } = graphs.current;
    const { fleet, layout } = props;
    for (const name of layout.nodes.keys()) {
      const key = `node:${name}`;
      if (!dots.hasNode(key)) continue;
      const color = HEALTH_COLOR[fleet.nodeHealth(name) ?? 'not-ready'];
      if (dots.getNodeAttribute(key, 'color') !== color) dots.setNodeAttribute(key, 'color', color);
    }
    for (const p of layout.pools) {
      const key = `pool:${p.name}`;
      const s = fleet.poolSummary(p.name);
      const attrs = {
        color: poolColor(s),
        label: `${p.name} ${s.ready + s.cordoned}/${s.members}`,
        members: s.members,
      };
      for (const g of [tiles, dots]) if (g.hasNode(key)) g.mergeNodeAttributes(key, attrs);
    }
  }, [props.healthVersion]);

  // Filters, selection and overlay are read by the reducer: one refresh, no re-index.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the props are read through `state`.
  useEffect(() => {
    sigma.current?.refresh({ skipIndexation: true });
  }, [props.filter, props.selected]);

  // Focus (from search): zoom onto the node.
  // biome-ignore lint/correctness/useExhaustiveDependencies: only a new focus moves the camera.
  useEffect(() => {
    const s = sigma.current;
    if (!s || !props.focus) return;
    // From the layout: zoomed out or culled, the node is not in the graph sigma holds.
    const pos = props.layout.nodes.get(props.focus);
    if (!pos) return;
    const d = s.viewportToFramedGraph(s.graphToViewport({ x: pos.x, y: -pos.y }));
    // Close enough to tell the node from its neighbours; a small fleet needs no zoom at all.
    const ratio = Math.min(1, Math.max(0.04, 25 / Math.max(1, props.layout.nodes.size)));
    void s.getCamera().animate({ x: d.x, y: d.y, ratio }, { duration: 300 });
  }, [props.focus]);

  if (error)
    return (
      <p className="notice notice-error" role="alert">
        The overview needs WebGL, which this browser does not provide ({error}). The pool table below shows
        the same data.
      </p>
    );
  return <div ref={container} className="fleet-graph" aria-label="Fleet overview (map)" role="img" />;
}
