/** One Server-Sent Event, as the spec's parser dispatches it. */
export interface ServerSentEvent {
  readonly event: string;
  readonly data: string;
  /** The last event id after this event (ids carry over events without one). */
  readonly lastEventId: string;
}

/**
 * An incremental `text/event-stream` parser (the WHATWG rules: `event`, `data`, `id`, `retry`,
 * comments, CR/LF/CRLF line ends). Feed it decoded text; it returns the events completed.
 */
export class SseParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #lastEventId: string;
  /** The reconnection delay the server asked for (`retry:`), if any. */
  retryMs: number | undefined;

  constructor(lastEventId = '') {
    this.#lastEventId = lastEventId;
  }

  get lastEventId(): string {
    return this.#lastEventId;
  }

  push(text: string): ServerSentEvent[] {
    this.#buffer += text;
    const events: ServerSentEvent[] = [];
    let start = 0;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer.slice(start));
      if (match === null) break;
      // A lone CR at the very end may be the first half of a CRLF: wait for more text.
      if (match[0] === '\r' && start + match.index + 1 === this.#buffer.length) break;
      const line = this.#buffer.slice(start, start + match.index);
      start += match.index + match[0].length;
      const event = this.#line(line);
      if (event !== undefined) events.push(event);
    }
    this.#buffer = this.#buffer.slice(start);
    return events;
  }

  #line(line: string): ServerSentEvent | undefined {
    if (line === '') {
      if (this.#data.length === 0) {
        this.#event = '';
        return undefined;
      }
      const event = { event: this.#event || 'message', data: this.#data.join('\n'), lastEventId: this.#lastEventId };
      this.#event = '';
      this.#data = [];
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.#lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }
}
