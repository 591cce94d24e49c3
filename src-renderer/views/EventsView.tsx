/**
 * The fleet's events, newest first: Kubernetes Warning events and the transitions EdgeFleet
 * derives itself (node not ready / cut off but autonomous / ready again, pool degraded, rollout
 * paused), filtered by origin, kind, pool and text, each row linking to its object. Main keeps
 * the last EVENT_RING_SIZE; the table draws only the rows in view.
 */
import { memo, useMemo, useState } from 'react';
import { EVENT_RING_SIZE, type EventWire } from '../../src-main/ipc/types.ts';
import {
  EVENTS_RBAC_FIX,
  type EventFilters,
  type EventOrigin,
  feedKeys,
  linkOf,
  NO_FILTERS,
  ORIGIN_TEXT,
} from '../model/events.ts';
import { age } from '../model/fleet.ts';
import {
  useActiveConnection,
  useActiveLoaded,
  useActiveState,
  useApp,
  useFleet,
  useFleetValue,
  useFleetVersion,
} from '../store/context.tsx';
import { useFleetUi } from '../store/fleet-context.tsx';
import type { FleetData } from '../store/fleet-data.ts';
import { type Column, Empty, NoCluster, VirtualTable } from './common.tsx';

const COLUMNS: Column[] = ['Object', 'Last seen', 'Type', 'Reason', 'Message', 'Count', 'Source'];
const KINDS = ['Node', 'Pod', 'NodePool', 'YurtAppSet'];
const plural = (n: number) => `${n} event${n === 1 ? '' : 's'}`;

/** The object's name as a link to where it opens (node page, pools, apps), or plain text. */
export function EventObject(props: { fleet: FleetData; event: EventWire }) {
  const { event: e, fleet } = props;
  const openNode = useFleetUi((s) => s.openNode);
  const setView = useApp((s) => s.setView);
  const link = linkOf(fleet, e);
  const label = `${e.object.kind} ${e.object.namespace ? `${e.object.namespace}/` : ''}${e.object.name}`;
  if (!link) return <>{label}</>;
  return (
    <button
      type="button"
      className="link event-object"
      onClick={() => {
        if (link.to === 'node') openNode(link.node);
        else {
          openNode(null);
          setView(link.to);
        }
      }}
    >
      {label}
    </button>
  );
}

export function EventType(props: { event: EventWire }) {
  const e = props.event;
  return <span className={`tag event-${e.severity}`}>{ORIGIN_TEXT[e.type]}</span>;
}

const EventRow = memo(function EventRow(props: { fleet: FleetData; k: string; index: number }) {
  const { fleet, k } = props;
  const now = useApp((s) => s.now);
  const e = useFleetValue(fleet, [`obj:events:${k}`], (f) => f.get('events', k), undefined);
  if (!e) return null;
  return (
    <tr aria-rowindex={props.index + 2} data-event={e.reason} data-severity={e.severity}>
      <th scope="row">
        <EventObject fleet={fleet} event={e} />
      </th>
      <td data-col="age" title={e.lastAt}>
        {e.lastAt ? `${age(e.lastAt, now)} ago` : '—'}
      </td>
      <td data-col="type">
        <EventType event={e} />
      </td>
      <td data-col="reason">{e.reason}</td>
      <td data-col="message" className="event-message">
        {e.message}
      </td>
      <td data-col="count">{e.count}</td>
      <td data-col="source" className="sub">
        {[e.source?.component, e.source?.host].filter(Boolean).join(' on ') || '—'}
      </td>
    </tr>
  );
});

/** Loading, forbidden (with the fix), error and stale, said plainly above the feed. */
function FeedNotice() {
  const st = useActiveState('events');
  const c = useActiveConnection();
  const now = useApp((s) => s.now);
  if (st?.status === 'forbidden')
    return (
      <div className="notice notice-forbidden" role="alert">
        <p>Your account may not list events in this cluster, so the feed cannot show Kubernetes warnings.</p>
        <p className="fix">{EVENTS_RBAC_FIX}</p>
        <p className="sub">Events EdgeFleet derives from nodes, pools and apps are still shown below.</p>
      </div>
    );
  if (st?.status === 'error')
    return (
      <p className="notice notice-error" role="alert">
        Cannot read events{st.message ? `: ${st.message}` : ''}. Retrying.
      </p>
    );
  if (st?.status === 'syncing')
    return (
      <p className="notice notice-syncing" role="status">
        Loading events…
      </p>
    );
  if (c && c.state !== 'connected' && c.state !== 'connecting')
    return (
      <p className="notice notice-error" role="alert">
        Not live: showing events as of {age(c.lastContactAt, now)} ago; new ones appear once the cluster
        answers again.
      </p>
    );
  return null;
}

export function EventsView() {
  const loaded = useActiveLoaded();
  const fleet = useFleet();
  const state = useActiveState('events');
  const c = useActiveConnection();
  const now = useApp((s) => s.now);
  const [by, setBy] = useState<EventFilters>(NO_FILTERS);
  // Pods and nodes matter only while filtering by pool (an event's pool comes from them).
  const v = useFleetVersion(fleet, by.pool ? ['events', 'pools', 'kind:pods'] : ['events']);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `v` is the data version.
  const keys = useMemo(() => (fleet ? feedKeys(fleet, by) : []), [fleet, v, by]);
  const poolsV = useFleetVersion(fleet, ['pools', 'kind:nodepools']);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `poolsV` is the data version.
  const pools = useMemo(() => fleet?.poolNames() ?? [], [fleet, poolsV]);
  if (!loaded || !fleet) return <NoCluster />;
  const total = fleet.objects.events.size;
  const set = (patch: Partial<EventFilters>) => setBy({ ...by, ...patch });
  return (
    <>
      <h2>Events</h2>
      <p className="sub">
        Warning events from Kubernetes and what EdgeFleet sees change (nodes, pools, rollouts), newest first;
        the last {EVENT_RING_SIZE.toLocaleString('en')} are kept.{' '}
        <span data-field="events-age">
          {c?.state === 'connected'
            ? 'Live.'
            : c?.lastContactAt
              ? `Data as of ${age(c.lastContactAt, now)} ago.`
              : ''}
        </span>
      </p>
      <FeedNotice />
      <search className="toolbar" aria-label="Filter events">
        <label>
          Origin
          <select value={by.origin} onChange={(e) => set({ origin: e.target.value as EventOrigin })}>
            <option value="all">All</option>
            <option value="Warning">Kubernetes warnings</option>
            <option value="Derived">Seen by EdgeFleet</option>
          </select>
        </label>
        <label>
          Kind
          <select value={by.kind} onChange={(e) => set({ kind: e.target.value })}>
            <option value="">Any</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label>
          Pool
          <select value={by.pool} onChange={(e) => set({ pool: e.target.value })}>
            <option value="">Any</option>
            {pools.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label>
          Search events
          <input
            type="search"
            value={by.text}
            placeholder="reason, message, object"
            onChange={(e) => set({ text: e.target.value })}
          />
        </label>
        <output className="sub" aria-label="Events shown">
          {keys.length === total ? plural(total) : `${keys.length} of ${plural(total)}`}
        </output>
      </search>
      {total === 0 ? (
        state?.status === 'syncing' ? null : (
          <Empty>
            {state?.status === 'forbidden'
              ? 'No node, pool or rollout changes seen; Kubernetes warnings are hidden from this account.'
              : 'No warnings and no node, pool or rollout changes seen in this cluster.'}
          </Empty>
        )
      ) : keys.length === 0 ? (
        <Empty>No event matches these filters.</Empty>
      ) : (
        <VirtualTable
          label="Events"
          columns={COLUMNS}
          keys={keys}
          row={(k, index) => <EventRow key={k} fleet={fleet} k={k} index={index} />}
        />
      )}
    </>
  );
}
