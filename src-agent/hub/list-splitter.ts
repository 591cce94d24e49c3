/**
 * Splits a JSON list document (`{"kind":"…List","metadata":{…},"items":[{…},{…}]}`) into its items as
 * bytes arrive, without building the whole tree: the cache tee and the response filters then hold one
 * item at a time instead of the whole body plus its parsed copy.
 *
 * Output is two kinds of pieces, in document order:
 * - envelope bytes: everything outside the top-level `items` array's elements, verbatim (it includes
 *   `"items":[` and the closing `]`, but not the commas between elements);
 * - items: the raw bytes of each element of the top-level `items` array — views into the pushed chunks
 *   when an element lies within one, so a consumer that keeps one past the call copies it.
 * Concatenating the envelope with the items joined by commas at their places gives back the document.
 */
import {
  BACKSLASH,
  CLOSE_ARR,
  CLOSE_OBJ,
  COLON,
  COMMA,
  isSpace,
  OPEN_ARR,
  OPEN_OBJ,
  QUOTE,
} from './json-bytes.ts';
export interface ListSplitterSink {
  envelope(bytes: Buffer): void;
  item(bytes: Buffer): void;
}

/** Thrown for input that cannot be a JSON list document (the caller falls back or gives up). */
export class ListSplitError extends Error {
  constructor(message: string) {
    super(`list body: ${message}`);
    this.name = 'ListSplitError';
  }
}

export class ListSplitter {
  private readonly sink: ListSplitterSink;
  private readonly maxItemBytes: number;
  /** Nesting depth of objects/arrays at the current byte (1 = inside the top-level object). */
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** At depth 1: collecting a key string, and the last key seen. */
  private keyBytes: number[] | undefined;
  private lastKey = '';
  /** At depth 1 after the colon of the current member, before its value starts. */
  private awaitingValue = false;
  private expectingKey = false;
  /** Inside the top-level `items` array (depth 2 is its element level). */
  private inItems = false;
  private itemsDone = false;
  /** Bytes of the element being collected; undefined between elements. */
  private item: Buffer[] | undefined;
  private itemBytes = 0;
  /** A scalar element (not object/array) ends at a comma or the array's end, not at a bracket. */
  private scalarItem = false;
  private started = false;
  /** Items seen so far. */
  items = 0;

  constructor(sink: ListSplitterSink, maxItemBytes = 16 * 1024 * 1024) {
    this.sink = sink;
    this.maxItemBytes = maxItemBytes;
  }

  push(chunk: Buffer): void {
    let envStart = this.inItems ? -1 : 0;
    let itemStart = this.item ? 0 : -1;
    const flushEnv = (end: number): void => {
      if (envStart >= 0 && end > envStart) this.sink.envelope(chunk.subarray(envStart, end));
      envStart = -1;
    };
    const endItem = (end: number): void => {
      if (!this.item) return;
      if (itemStart >= 0 && end > itemStart) this.addItemBytes(chunk.subarray(itemStart, end));
      const parts = this.item;
      this.item = undefined;
      itemStart = -1;
      this.scalarItem = false;
      this.items++;
      this.sink.item(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts));
    };
    let nextBs = chunk.indexOf(BACKSLASH);
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          this.keyBytes?.push(b);
          continue;
        }
        // Jump to the next quote or backslash instead of walking string bytes one by one (the bulk of a list).
        if (nextBs !== -1 && nextBs < i) nextBs = chunk.indexOf(BACKSLASH, i);
        const q = chunk.indexOf(QUOTE, i);
        let j = q === -1 ? (nextBs === -1 ? chunk.length : nextBs) : nextBs === -1 ? q : Math.min(q, nextBs);
        if (this.keyBytes) for (let k = i; k < j; k++) this.keyBytes.push(chunk[k] as number);
        if (j === chunk.length) {
          i = j;
          break;
        }
        if (j === nextBs) {
          this.escaped = true;
          this.keyBytes?.push(BACKSLASH);
          i = j;
          continue;
        }
        j = q;
        i = j;
        this.inString = false;
        if (this.keyBytes) {
          this.lastKey = Buffer.from(this.keyBytes).toString('utf8');
          this.keyBytes = undefined;
        }
        continue;
      }
      if (isSpace(b)) continue;
      // Element level of the items array: commas and the closing bracket are ours to handle.
      if (this.inItems && this.depth === 2) {
        if (this.item && this.scalarItem && (b === COMMA || b === CLOSE_ARR)) endItem(i);
        if (b === COMMA) continue;
        if (b === CLOSE_ARR) {
          this.inItems = false;
          this.itemsDone = true;
          this.depth--;
          envStart = i;
          continue;
        }
        if (!this.item) {
          this.item = [];
          this.itemBytes = 0;
          itemStart = i;
          if (b !== OPEN_OBJ && b !== OPEN_ARR) this.scalarItem = true;
        }
      }
      if (b === QUOTE) {
        this.inString = true;
        if (this.depth === 1 && this.expectingKey) {
          this.keyBytes = [];
          this.expectingKey = false;
        } else if (this.depth === 1) this.awaitingValue = false;
        continue;
      }
      if (b === OPEN_OBJ || b === OPEN_ARR) {
        if (this.depth === 0 && (b !== OPEN_OBJ || this.started))
          throw new ListSplitError('not one JSON object');
        this.started = true;
        const startsItems =
          this.depth === 1 &&
          this.awaitingValue &&
          b === OPEN_ARR &&
          this.lastKey === 'items' &&
          !this.itemsDone;
        this.awaitingValue = false;
        this.depth++;
        if (this.depth === 1) this.expectingKey = true;
        if (startsItems) {
          this.inItems = true;
          flushEnv(i + 1);
        }
        continue;
      }
      if (b === CLOSE_OBJ || b === CLOSE_ARR) {
        this.depth--;
        if (this.depth < 0) throw new ListSplitError('unbalanced brackets');
        if (this.inItems && this.depth === 2 && this.item && !this.scalarItem) endItem(i + 1);
        continue;
      }
      if (this.depth === 1) {
        if (b === COLON) this.awaitingValue = true;
        else if (b === COMMA) this.expectingKey = true;
        else this.awaitingValue = false;
      }
    }
    if (this.item && itemStart >= 0) this.addItemBytes(chunk.subarray(itemStart));
    if (envStart >= 0) flushEnv(chunk.length);
  }

  /** Whether the document ended (top-level object closed). */
  get complete(): boolean {
    return this.started && this.depth === 0 && !this.inString;
  }

  private addItemBytes(b: Buffer): void {
    this.itemBytes += b.length;
    if (this.itemBytes > this.maxItemBytes)
      throw new ListSplitError(`one item is over ${this.maxItemBytes} bytes`);
    // A view, not a copy: chunks are reused by nothing downstream, and most items are only read where
    // they are handed over. A consumer that keeps an item copies it (a view would pin the whole chunk).
    (this.item as Buffer[]).push(b);
  }
}
