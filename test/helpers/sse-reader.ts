import { SseParser, type ServerSentEvent } from '../../packages/client/src/sse-parser.ts';

/** An open SSE response, read in the background into `events`. */
export interface SseReader {
  readonly status: number;
  readonly headers: Headers;
  readonly events: ServerSentEvent[];
  /** The body text read so far (comments included). */
  text: string;
  /** True once the body has ended or been cut (the server closed the stream). */
  ended: boolean;
  /** Resolves once `predicate(events)` holds; rejects after `timeoutMs`. */
  waitFor(predicate: (events: readonly ServerSentEvent[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): void;
}

/** Opens `url` with fetch and parses it as a stream; a non-200 answer is returned unread. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const reader: SseReader = {
    status: response.status,
    headers: response.headers,
    events: [],
    text: '',
    ended: false,
    async waitFor(predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(reader.events)) {
        if (Date.now() > deadline) throw new Error(`SSE condition not met within ${timeoutMs} ms; events: ${JSON.stringify(reader.events.slice(-10))}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    close: () => controller.abort(),
  };
  if (response.status !== 200 || response.body === null) return reader;
  const parser = new SseParser();
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(chunk, { stream: true });
        reader.text += text;
        reader.events.push(...parser.push(text));
      }
    } catch {
      // aborted or cut: the test looks at what arrived
    }
    reader.ended = true;
  })();
  return reader;
}

/** The latest count per post among `count` events. */
export function latestCounts(events: readonly ServerSentEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of events) {
    if (event.event !== 'count') continue;
    const data = JSON.parse(event.data) as { postId: string; count: number };
    counts.set(data.postId, data.count);
  }
  return counts;
}
