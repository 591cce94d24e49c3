/**
 * A React context for one zustand store, with one Provider and two hooks shared by every store
 * (app, provisioning, demo, fleet actions and ui), so each store's context is a few lines.
 */
import { type Context, createContext, type ReactNode, useContext } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';

export interface StoreCtx<S> {
  name: string;
  ctx: Context<StoreApi<S> | null>;
}

export function storeContext<S>(name: string): StoreCtx<S> {
  return { name, ctx: createContext<StoreApi<S> | null>(null) };
}

export function StoreProviderOf<S>(props: { of: StoreCtx<S>; store: StoreApi<S>; children: ReactNode }) {
  const { ctx: Ctx } = props.of;
  return <Ctx.Provider value={props.store}>{props.children}</Ctx.Provider>;
}

/** The store itself, for handlers that read the latest state without subscribing. */
export function useStoreApiOf<S>(c: StoreCtx<S>): StoreApi<S> {
  const store = useContext(c.ctx);
  if (!store) throw new Error(`${c.name} hooks used outside its provider`);
  return store;
}

export function useSelectOf<S, T>(c: StoreCtx<S>, selector: (s: S) => T): T {
  return useStore(useStoreApiOf(c), selector);
}
