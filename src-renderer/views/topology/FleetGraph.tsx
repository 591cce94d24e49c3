/**
 * The fleet overview drawn in WebGL by sigma.js over a graphology graph: one graph node per
 * Kubernetes node plus one "tile" per pool. Zoomed out, pools are tiles with their counts;
 * zoomed in, nodes are dots coloured by state (semantic zoom, switched in the node reducer, so
 * crossing the threshold costs one refresh, not a rebuild). Positions come from layout.ts.
 */
import { UndirectedGraph as Graph } from 'graphology';
import { useEffect, useRef, useState } from 'react';
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

/** Below this camera ratio (zoomed in) nodes are drawn as dots; small fleets always are. */
const DOTS_BELOW_RATIO = 0.45;
const DOTS_ALWAYS_UP_TO = 400;
const showDots = (nodes: number, cameraRatio: number) =>
  nodes <= DOTS_ALWAYS_UP_TO || cameraRatio < DOTS_BELOW_RATIO;

type Attrs = {
  x: number;
  y: number;
  size: number;
  color: string;
  label: string;
  kind: 'node' | 'pool' | 'anchor';
  pool: string;
};

/** The smallest area (in cells) the view spans, so a fleet of five nodes is not drawn as five moons. */
const MIN_EXTENT = { width: 48, height: 18 };

function poolColor(s: PoolSummary): string {
  if (s.notReady > 0) return HEALTH_COLOR['not-ready'];
  if (s.autonomous > 0) return HEALTH_COLOR.autonomous;
  if (s.members > 0 && s.cordoned === s.members) return HEALTH_COLOR.cordoned;
  return HEALTH_COLOR.ready;
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
  const graph = useRef(new Graph<Attrs>());
  const state = useRef({ filter: props.filter, selected: props.selected, dots: true, labelColor: '#1f2328' });
  const [error, setError] = useState<string | null>(null);
  const onSelect = useRef(props.onSelect);
  onSelect.current = props.onSelect;
  state.current.filter = props.filter;
  state.current.selected = props.selected;

  // Sigma once per mount; the graph object is reused across rebuilds.
  useEffect(() => {
    const el = container.current;
    if (!el) return;
    let s: Sigma<Attrs>;
    try {
      s = new Sigma(graph.current, el, {
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
    const onCamera = () => {
      const dots = showDots(nodeCount.current, camera.ratio);
      if (dots !== state.current.dots) {
        state.current.dots = dots;
        s.refresh({ skipIndexation: true });
      }
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
      camera.off('updated', onCamera);
      s.kill();
      sigma.current = null;
    };
  }, []);

  const fleetRef = useRef(props.fleet);
  fleetRef.current = props.fleet;
  const nodeCount = useRef(0);

  // Rebuild positions when membership changed (layout is a new object then).
  // biome-ignore lint/correctness/useExhaustiveDependencies: the layout is the trigger; fleet is read through props.
  useEffect(() => {
    const g = graph.current;
    g.clear();
    const { layout, fleet } = props;
    nodeCount.current = layout.nodes.size;
    for (const p of layout.pools) {
      const s = fleet.poolSummary(p.name);
      g.addNode(`pool:${p.name}`, {
        x: p.x + p.side / 2,
        y: -(p.y + p.side / 2),
        size: Math.max(0.8, p.side / 2),
        color: poolColor(s),
        label: `${p.name} ${s.ready + s.cordoned}/${s.members}`,
        kind: 'pool',
        pool: p.name,
      });
    }
    // Two hidden corners: sigma fits the graph's extent to the canvas, and a small fleet must not fill it.
    // The fleet sits in the middle of that area.
    const corner = { size: 0, color: '#0000', label: '', kind: 'anchor' as const, pool: '' };
    const padX = Math.max(0, MIN_EXTENT.width - layout.width) / 2;
    const padY = Math.max(0, MIN_EXTENT.height - layout.height) / 2;
    g.addNode('anchor:0', { ...corner, x: -padX, y: padY });
    g.addNode('anchor:1', { ...corner, x: layout.width + padX, y: -(layout.height + padY) });
    for (const [name, pos] of layout.nodes) {
      const h = fleet.nodeHealth(name) ?? 'not-ready';
      g.addNode(`node:${name}`, {
        x: pos.x,
        y: -pos.y,
        size: 0.42,
        color: HEALTH_COLOR[h],
        label: name,
        kind: 'node',
        pool: pos.pool,
      });
    }
    state.current.dots = showDots(layout.nodes.size, sigma.current?.getCamera().ratio ?? 1);
    sigma.current?.refresh();
  }, [props.layout]);

  // Node states changed: recolour in place (no relayout).
  // biome-ignore lint/correctness/useExhaustiveDependencies: healthVersion is the trigger.
  useEffect(() => {
    const g = graph.current;
    const { fleet, layout } = props;
    for (const name of layout.nodes.keys()) {
      const key = `node:${name}`;
      if (!g.hasNode(key)) continue;
      const color = HEALTH_COLOR[fleet.nodeHealth(name) ?? 'not-ready'];
      if (g.getNodeAttribute(key, 'color') !== color) g.setNodeAttribute(key, 'color', color);
    }
    for (const p of layout.pools) {
      const key = `pool:${p.name}`;
      if (!g.hasNode(key)) continue;
      const s = fleet.poolSummary(p.name);
      g.mergeNodeAttributes(key, {
        color: poolColor(s),
        label: `${p.name} ${s.ready + s.cordoned}/${s.members}`,
      });
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
    const d = s.getNodeDisplayData(`node:${props.focus}`);
    // Close enough to tell the node from its neighbours; a small fleet needs no zoom at all.
    const ratio = Math.min(1, Math.max(0.04, 25 / Math.max(1, props.layout.nodes.size)));
    if (d) void s.getCamera().animate({ x: d.x, y: d.y, ratio }, { duration: 300 });
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
