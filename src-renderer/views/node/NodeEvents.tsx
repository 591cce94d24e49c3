/**
 * "Recent events" on the node page: the node's own events of every type, opened from main
 * while the page is shown (closed when it goes), plus the feed's warnings about its pods and
 * what EdgeFleet saw change on it. Kubernetes keeps events for an hour by default.
 */
import { useEffect, useMemo, useState } from 'react';
import type { ObjectEventsUpdate } from '../../../src-main/ipc/types.ts';
import { wireKey } from '../../../src-main/ipc/wire-key.ts';
import { EVENTS_RBAC_FIX, mergeNewestFirst, nodeFeedEvents } from '../../model/events.ts';
import { age } from '../../model/fleet.ts';
import { useApp, useFleetVersion } from '../../store/context.tsx';
import { useEventsClient } from '../../store/events-context.tsx';
import type { FleetData } from '../../store/fleet-data.ts';
import { DataTable, Empty, ErrorText } from '../common.tsx';
import { EventObject, EventType } from '../EventsView.tsx';

/** Most rows the panel shows; the Events view has the rest. */
const SHOWN = 50;

function useNodeEvents(node: string): {
  update: ObjectEventsUpdate | null;
  error: { message: string; fix?: string } | null;
} {
  const client = useEventsClient();
  const clusterId = useApp((s) => s.activeClusterId);
  const [update, setUpdate] = useState<ObjectEventsUpdate | null>(null);
  const [error, setError] = useState<{ message: string; fix?: string } | null>(null);
  useEffect(() => {
    setUpdate(null);
    setError(null);
    if (!client || !clusterId) return;
    return client.watchObject({ clusterId, kind: 'Node', name: node }, setUpdate, setError);
  }, [client, clusterId, node]);
  return { update, error };
}

export function NodeEvents(props: { fleet: FleetData; node: string }) {
  const { fleet, node } = props;
  const now = useApp((s) => s.now);
  const { update, error } = useNodeEvents(node);
  const v = useFleetVersion(fleet, ['events', `podsOf:${node}`]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `v` is the data version.
  const fromFeed = useMemo(() => nodeFeedEvents(fleet, node), [fleet, node, v]);
  const rows = useMemo(() => mergeNewestFirst([update?.items ?? [], fromFeed], SHOWN), [update, fromFeed]);
  const st = update?.state;
  return (
    <section className="panel wide" aria-label="Recent events">
      <h3>Recent events</h3>
      <ErrorText error={error} />
      {st?.status === 'forbidden' ? (
        <div className="notice notice-forbidden" role="alert">
          <p>Your account may not list events, so this node's own events cannot be shown.</p>
          <p className="fix">{EVENTS_RBAC_FIX}</p>
        </div>
      ) : st?.status === 'error' ? (
        <p className="notice notice-error" role="alert">
          Cannot read this node's events{st.message ? `: ${st.message}` : ''}.
        </p>
      ) : !update && !error ? (
        <p className="notice notice-syncing" role="status">
          Loading this node's events…
        </p>
      ) : null}
      {update ? (
        <p className="sub">As of {age(update.at, now)} ago; Kubernetes keeps events for about an hour.</p>
      ) : null}
      {rows.length === 0 ? (
        update ? (
          <Empty>No events for this node or its pods.</Empty>
        ) : null
      ) : (
        <DataTable
          label="Recent events"
          columns={['Object', 'Last seen', 'Type', 'Reason', 'Message', 'Count']}
        >
          {rows.map((e) => (
            <tr key={e.uid ?? wireKey(e)} data-event={e.reason}>
              <th scope="row">
                <EventObject fleet={fleet} event={e} />
              </th>
              <td title={e.lastAt}>{e.lastAt ? `${age(e.lastAt, now)} ago` : '—'}</td>
              <td>
                <EventType event={e} />
              </td>
              <td>{e.reason}</td>
              <td className="event-message">{e.message}</td>
              <td>{e.count}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}
