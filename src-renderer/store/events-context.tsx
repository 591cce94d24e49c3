import { createContext, type ReactNode, useContext } from 'react';
import type { EventsClient } from './events-client.ts';

const Ctx = createContext<EventsClient | null>(null);

export function EventsClientProvider(props: { client: EventsClient; children: ReactNode }) {
  return <Ctx.Provider value={props.client}>{props.children}</Ctx.Provider>;
}

/** The client, or null outside a provider (unit tests render views without main). */
export function useEventsClient(): EventsClient | null {
  return useContext(Ctx);
}
