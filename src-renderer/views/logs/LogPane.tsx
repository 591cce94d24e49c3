import { useVirtualizer } from '@tanstack/react-virtual';
import { type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
import type { StreamLogLine } from '../../../src-main/ipc/stream-types.ts';
import { highlight, type LogLines, matching } from '../../model/log-lines.ts';
import type { LogStreamState } from './use-log-stream.ts';

const LINE_HEIGHT = 18;
const fmt = new Intl.NumberFormat('en');

/** kubelet's RFC 3339 nanoseconds, journald's microseconds: shown to the millisecond, in UTC. */
const shortTs = (ts: string | undefined) => (ts ? `${ts.slice(0, 10)} ${ts.slice(11, 23)}` : '');

function StatusLine(props: { state: LogStreamState; follow: boolean; onReopen: () => void }) {
  const { state } = props;
  if (state.phase === 'opening') return <output className="log-status">Opening…</output>;
  if (state.phase === 'failed' || (state.phase === 'ended' && state.error)) {
    const error = state.error;
    return (
      <div className="notice notice-error log-status" role="alert">
        <strong>{state.phase === 'failed' ? 'Could not open the log: ' : 'The stream stopped: '}</strong>
        {error?.message}
        {error?.fix ? <div className="fix">{error.fix}</div> : null}
        <button type="button" className="secondary" onClick={props.onReopen}>
          Open again
        </button>
      </div>
    );
  }
  if (state.phase === 'ended') {
    const why =
      state.reason === 'ended'
        ? props.follow
          ? 'Stream ended: the source stopped (the container exited or was replaced).'
          : 'End of the log (not following).'
        : state.reason === 'closed'
          ? 'Stream closed.'
          : 'Stream stopped: main saw no one reading it.';
    return (
      <output className="log-status" data-state="ended">
        {why}{' '}
        <button type="button" className="link" onClick={props.onReopen}>
          Open again
        </button>
      </output>
    );
  }
  return (
    <output className="log-status" data-state="live">
      {props.follow ? 'Following: new lines appear as they are written.' : 'Reading…'}
    </output>
  );
}

function LineText(props: { line: StreamLogLine; query: string; timestamps: boolean }) {
  const { line } = props;
  return (
    <>
      {props.timestamps && line.ts ? <span className="log-ts">{shortTs(line.ts)}</span> : null}
      {highlight(line.line, props.query).map((p, i) =>
        // biome-ignore lint/suspicious/noArrayIndexKey: pieces of one fixed string, in order.
        p.hit ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>,
      )}
      {line.truncated ? <span className="sub"> [line cut: too long]</span> : null}
    </>
  );
}

/**
 * A log stream's lines, virtualized (only the rows in view are drawn), with search (matching
 * lines only, or all lines with matches marked), timestamps, and the stream's state. Sticks to
 * the newest line while the user is at the bottom; scrolling up stops that.
 */
export function LogPane(props: {
  label: string;
  state: LogStreamState;
  buffer: LogLines;
  version: number;
  follow: boolean;
  onReopen: () => void;
  /** The stream's own options (container, follow, tail…), shown before the search. */
  options: ReactNode;
}) {
  const { buffer, version } = props;
  const [query, setQuery] = useState('');
  const [onlyMatches, setOnlyMatches] = useState(true);
  const [timestamps, setTimestamps] = useState(true);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` is the buffer's change key.
  const hits = useMemo(() => (query ? matching(buffer.lines, query) : null), [buffer, version, query]);
  const shown = onlyMatches && hits ? hits : null;
  const count = shown ? shown.length : buffer.lines.length;
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const v = useVirtualizer({
    count,
    getScrollElement: () => scroller.current,
    estimateSize: () => LINE_HEIGHT,
    overscan: 20,
    initialRect: { width: 1000, height: 400 },
  });
  // biome-ignore lint/correctness/useExhaustiveDependencies: follow the newest line as lines arrive.
  useEffect(() => {
    if (atBottom.current && count > 0) v.scrollToIndex(count - 1, { align: 'end' });
  }, [count, version]);
  const lineAt = (i: number) => buffer.lines[shown ? (shown[i] as number) : i];
  return (
    <div className="log-pane">
      <div className="toolbar log-toolbar">
        {props.options}
        <label>
          Search
          <input
            type="search"
            value={query}
            placeholder="text in a line"
            onChange={(e) => setQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') setQuery('');
            }}
          />
        </label>
        <label className="check">
          <input type="checkbox" checked={onlyMatches} onChange={(e) => setOnlyMatches(e.target.checked)} />
          Only matching lines
        </label>
        <label className="check">
          <input type="checkbox" checked={timestamps} onChange={(e) => setTimestamps(e.target.checked)} />
          Timestamps
        </label>
      </div>
      <div className="log-meta">
        <StatusLine state={props.state} follow={props.follow} onReopen={props.onReopen} />
        <output className="sub" aria-label="Line count">
          {hits
            ? `${fmt.format(hits.length)} of ${fmt.format(buffer.lines.length)} lines match`
            : `${fmt.format(buffer.lines.length)} line${buffer.lines.length === 1 ? '' : 's'}`}
          {buffer.dropped > 0
            ? ` · keeping the newest ${fmt.format(buffer.cap)}; ${fmt.format(buffer.dropped)} older lines dropped`
            : ` · the newest ${fmt.format(buffer.cap)} are kept`}
        </output>
      </div>
      <div
        className="log-view"
        role="log"
        aria-label={props.label}
        aria-live="off"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the scrolling area is read with the keyboard.
        tabIndex={0}
        ref={scroller}
        onScroll={(e) => {
          const el = e.currentTarget;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < LINE_HEIGHT * 2;
        }}
      >
        {count === 0 ? (
          <p className="empty">
            {props.state.phase === 'opening'
              ? 'Waiting for the first lines…'
              : hits
                ? 'No line matches the search.'
                : 'No lines.'}
          </p>
        ) : (
          <div style={{ height: v.getTotalSize(), position: 'relative' }}>
            {v.getVirtualItems().map((it) => {
              const line = lineAt(it.index);
              return line ? (
                <div
                  key={it.key}
                  className={`log-line${line.priority !== undefined && line.priority <= 3 ? ' log-error' : ''}`}
                  style={{ transform: `translateY(${it.start}px)` }}
                >
                  <LineText line={line} query={query} timestamps={timestamps} />
                </div>
              ) : null;
            })}
          </div>
        )}
      </div>
    </div>
  );
}
