import { useVirtualizer } from '@tanstack/react-virtual';
import { type ReactNode, useRef } from 'react';
import { NODE_HEALTH_TEXT, type NodeHealth } from '../../src-main/ipc/node-health.ts';
import type { ClusterFlavor, ResourceKind } from '../../src-main/ipc/types.ts';
import { age } from '../model/fleet.ts';
import { useActiveConnection, useActiveState, useApp } from '../store/context.tsx';

const RESOURCE_LABEL: Record<ResourceKind, string> = {
  nodes: 'nodes',
  nodepools: 'node pools',
  yurtappsets: 'YurtAppSets',
  pods: 'pods',
  services: 'services',
  endpointslices: 'endpoint slices',
  events: 'events',
};

/** Says plainly when a list is not the truth: forbidden, not served, failing, or still loading. */
export function ResourceNotice(props: { kind: ResourceKind }) {
  const st = useActiveState(props.kind);
  if (!st) return null;
  const what = RESOURCE_LABEL[props.kind];
  if (st.status === 'synced') return null;
  const text =
    st.status === 'forbidden'
      ? `Forbidden: your credentials may not list ${what} (RBAC). The list below is not "empty", it is hidden.`
      : st.status === 'absent'
        ? `This cluster does not serve ${what} (its CRD is not installed).`
        : st.status === 'syncing'
          ? `Loading ${what}…`
          : `Cannot read ${what}${st.message ? `: ${st.message}` : ''}.`;
  return (
    <p className={`notice notice-${st.status}`} role={st.status === 'syncing' ? 'status' : 'alert'}>
      {text}
    </p>
  );
}

const STATE_TEXT = {
  connecting: 'Connecting',
  connected: 'Connected',
  reconnecting: 'Reconnecting',
  unreachable: 'Unreachable',
} as const;

/** The connection state in words, with the age of the data when it is not live. */
export function ConnectionBadge() {
  const now = useApp((s) => s.now);
  const c = useActiveConnection();
  if (!c) return null;
  const stale = c.state === 'unreachable' || c.state === 'reconnecting';
  return (
    <output className={`badge badge-${c.state}`} aria-label="Cluster connection" title={c.lastError?.message}>
      {STATE_TEXT[c.state]}
      {stale ? ` — showing last-known data from ${age(c.lastContactAt, now)} ago` : ''}
    </output>
  );
}

export function flavorLabel(kind: ClusterFlavor['kind']): string {
  return kind === 'edgefleet'
    ? 'EdgeFleet'
    : kind === 'openyurt'
      ? 'OpenYurt'
      : kind === 'none'
        ? 'none'
        : 'unknown';
}

export function ErrorText(props: { error: { message: string; fix?: string } | null }) {
  if (!props.error) return null;
  return (
    <div className="error" role="alert">
      <p>{props.error.message}</p>
      {props.error.fix ? <p className="fix">{props.error.fix}</p> : null}
    </div>
  );
}

export function Empty(props: { children: ReactNode }) {
  return <p className="empty">{props.children}</p>;
}

export function NoCluster() {
  return <Empty>Open a cluster on the Clusters page first.</Empty>;
}

/** A column heading; `hidden` keeps it for screen readers only (e.g. an actions column). */
export type Column = string | { label: string; hidden: true };

function TableHead(props: { columns: Column[] }) {
  return (
    <thead>
      <tr>
        {props.columns.map((c) =>
          typeof c === 'string' ? (
            <th scope="col" key={c}>
              {c}
            </th>
          ) : (
            <th scope="col" key={c.label}>
              <span className="sr-only">{c.label}</span>
            </th>
          ),
        )}
      </tr>
    </thead>
  );
}

/** A labelled table with column headings; rows (`<tr>`, first cell `<th scope="row">`) as children. */
export function DataTable(props: { label: string; columns: Column[]; children: ReactNode }) {
  return (
    <table aria-label={props.label}>
      <TableHead columns={props.columns} />
      <tbody>{props.children}</tbody>
    </table>
  );
}

const ROW_HEIGHT = 33;

/**
 * A table that renders only the rows in view (@tanstack/react-virtual) and keeps table
 * semantics: spacer rows above and below stand for the rows not drawn, and aria-rowcount tells
 * assistive technology how many there are. `row(key)` renders one `<tr>`.
 */
export function VirtualTable(props: {
  label: string;
  columns: Column[];
  keys: string[];
  row: (key: string, index: number) => ReactNode;
  /** Most the scrolling area grows to (CSS); fewer rows take less. */
  height?: string;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({
    count: props.keys.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    // Before the first layout (and in tests without layout) draw a first screenful.
    initialRect: { width: 1200, height: 800 },
  });
  const items = v.getVirtualItems();
  const top = items[0]?.start ?? 0;
  const bottom = v.getTotalSize() - (items.at(-1)?.end ?? 0);
  const span = props.columns.length;
  return (
    <div
      className="virtual-scroll"
      ref={scroller}
      style={{ maxHeight: props.height ?? 'calc(100vh - 210px)' }}
    >
      <table aria-label={props.label} aria-rowcount={props.keys.length + 1}>
        <TableHead columns={props.columns} />
        <tbody>
          {top > 0 ? (
            <tr className="spacer" style={{ height: top }}>
              <td colSpan={span} />
            </tr>
          ) : null}
          {items.map((it) => {
            const key = props.keys[it.index];
            return key === undefined ? null : props.row(key, it.index);
          })}
          {bottom > 0 ? (
            <tr className="spacer" style={{ height: bottom }}>
              <td colSpan={span} />
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}

export const NODE_HEALTHS = Object.keys(NODE_HEALTH_TEXT) as NodeHealth[];

/** "State" filter over the one node-state rule ('' = any state). */
export function HealthFilter(props: { value: NodeHealth | ''; onChange: (h: NodeHealth | '') => void }) {
  return (
    <label>
      State
      <select value={props.value} onChange={(e) => props.onChange(e.target.value as NodeHealth | '')}>
        <option value="">Any</option>
        {NODE_HEALTHS.map((h) => (
          <option key={h} value={h}>
            {NODE_HEALTH_TEXT[h]}
          </option>
        ))}
      </select>
    </label>
  );
}
