/**
 * How the renderer reaches main: the Electron preload bridge when present, otherwise the
 * browser host's WebSocket. Both carry the same contract; views only see this interface.
 */
import type {
  EventChannel,
  EventMap,
  RequestChannel,
  RequestOf,
  ResponseOf,
} from '../../src-main/ipc/contract.ts';
import type { IpcError, Result } from '../../src-main/ipc/errors.ts';

/** open: requests flow. connecting: (re)establishing. closed: given up or refused; detail says why. */
export type TransportState = 'connecting' | 'open' | 'closed';

export interface Transport {
  readonly kind: 'electron' | 'websocket';
  invoke<C extends RequestChannel>(channel: C, input: RequestOf<C>): Promise<ResponseOf<C>>;
  on<E extends EventChannel>(channel: E, callback: (payload: EventMap[E]) => void): () => void;
  /** Called now with the current state, then on every change. */
  onState(callback: (state: TransportState, detail?: string) => void): () => void;
}

/** A `{ ok: false }` answer from main, thrown so callers can use try/catch; keeps code and fix. */
export class IpcCallError extends Error {
  readonly code: string;
  readonly fix: string | undefined;
  constructor(error: IpcError) {
    super(error.message);
    this.name = 'IpcCallError';
    this.code = error.code;
    this.fix = error.fix;
  }
}

export function unwrap<T>(result: Result<unknown>): T {
  if (result.ok) return result.value as T;
  throw new IpcCallError(result.error);
}
