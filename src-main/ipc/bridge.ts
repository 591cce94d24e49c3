/**
 * The shape of `window.edgefleet`, the only thing the preload exposes to the renderer. No
 * electron import here: the renderer imports this type to talk to either transport.
 */
import type { EventChannel, EventMap, RequestChannel, RequestOf } from './contract.ts';
import type { Result } from './errors.ts';

export interface EdgefleetBridge {
  readonly transport: 'electron';
  /** Answers with the router's Result: errors are values, never thrown across the bridge. */
  invoke<C extends RequestChannel>(channel: C, input: RequestOf<C>): Promise<Result<unknown>>;
  /** Returns the unsubscribe function. */
  on<E extends EventChannel>(channel: E, callback: (payload: EventMap[E]) => void): () => void;
}
