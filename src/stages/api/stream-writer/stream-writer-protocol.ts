/**
 * Messages between the api process and its stream writer (a child process that owns the sockets
 * of live streams once their head is out; see `stream-writer.ts`).
 */

/** To the writer. `adopt` comes with the stream's socket as its handle. */
export type ToWriter =
  /** A stream's socket (the handle) and the text written for it since its head went out. */
  | { readonly t: 'adopt'; readonly id: number; readonly text: string }
  /** Texts for adopted streams, in order: `texts[i]` goes to stream `ids[i]`. */
  | { readonly t: 'write'; readonly ids: readonly number[]; readonly texts: readonly string[] }
  /** `destroy`: drop the connection now; `end`: end it once what is written has gone. */
  | { readonly t: 'destroy' | 'end'; readonly id: number };

/** From the writer. */
export type FromWriter =
  /** A stream it held has closed (`gone`: the client left; `slow`: it fell behind). */
  | { readonly t: 'closed'; readonly id: number; readonly reason: 'gone' | 'slow' }
  /**
   * Every second: its resident memory, the anonymous part of it, which no other process shares
   * (undefined where /proc/self/status does not say), and the CPU seconds it has used since it started.
   */
  | { readonly t: 'usage'; readonly rssBytes: number; readonly anonymousBytes: number | undefined; readonly cpuSeconds: number };

/** How often the writer reports its usage. */
export const USAGE_EVERY_MS = 1000;

export interface StreamWriterData {
  /** A client leaving more than this many bytes unread is dropped (`--stream-buffer-bytes`). */
  readonly maxBufferedBytes: number;
}
