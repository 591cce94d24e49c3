import { createContext, type ReactNode, useContext } from 'react';
import type { StreamClient } from '../transport/stream-client.ts';

const ctx = createContext<StreamClient | null>(null);

/** The one stream client of this window (logs, terminals), for the views that open streams. */
export function StreamsProvider(props: { client: StreamClient; children: ReactNode }) {
  return <ctx.Provider value={props.client}>{props.children}</ctx.Provider>;
}

export function useStreams(): StreamClient {
  const c = useContext(ctx);
  if (!c) throw new Error('stream hooks used outside StreamsProvider');
  return c;
}
