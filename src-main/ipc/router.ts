/**
 * Transport-agnostic dispatcher: the Electron `ipcMain.handle` wrapper and the browser host's
 * WebSocket both call `router.handle(channel, input)` and send back the Result as is.
 */
import {
  isRequestChannel,
  REQUEST_SCHEMAS,
  type RequestChannel,
  type RequestOf,
  type ResponseOf,
} from './contract.ts';
import { AppError, fail, type Result } from './errors.ts';

export type IpcHandlers = {
  [C in RequestChannel]: (input: RequestOf<C>) => Promise<ResponseOf<C>> | ResponseOf<C>;
};

export interface IpcRouter {
  readonly channels: readonly RequestChannel[];
  handle(channel: unknown, input: unknown): Promise<Result<unknown>>;
}

export interface RouterOptions {
  /** Called with unexpected (non-AppError) failures, e.g. to log them; never with invalid input. */
  onUnexpectedError?: (channel: RequestChannel, error: unknown) => void;
  /** Scrubs any known secret value out of messages before they leave main. */
  redact?: (text: string) => string;
}

export function createIpcRouter(handlers: IpcHandlers, options: RouterOptions = {}): IpcRouter {
  const redact = options.redact ?? ((t: string) => t);
  return {
    channels: Object.keys(REQUEST_SCHEMAS) as RequestChannel[],
    async handle(channel, input) {
      if (!isRequestChannel(channel)) {
        return fail(
          'ipc/unknown-channel',
          `no such channel: ${JSON.stringify(String(channel)).slice(0, 80)}`,
        );
      }
      const checked = REQUEST_SCHEMAS[channel](input);
      if (!checked.ok) return fail('ipc/invalid-input', `${channel}: ${checked.reason}`);
      const handler = handlers[channel] as (input: unknown) => unknown;
      try {
        return { ok: true, value: await handler(checked.value) };
      } catch (error) {
        if (error instanceof AppError) {
          const e = error.toIpc();
          return { ok: false, error: { ...e, message: redact(e.message) } };
        }
        options.onUnexpectedError?.(channel, error);
        const message = error instanceof Error ? error.message : String(error);
        return fail('internal', redact(`${channel} failed: ${message}`));
      }
    },
  };
}
