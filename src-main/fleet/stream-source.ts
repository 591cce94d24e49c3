/** What the streams service needs of any source: flow control for the outbox, and a way to stop it. */
export interface Pausable {
  pause(): void;
  resume(): void;
  /** Stops the source; its sink gets no `end` afterwards (the service ends the stream itself). */
  close(): void;
}
