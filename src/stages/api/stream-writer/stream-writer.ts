import { fork, type ChildProcess } from 'node:child_process';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { LiveMetrics } from '../../../observability/live-metrics.ts';
import type { Logger } from '../../../observability/logger.ts';
import type { CloseReason, StreamSink } from '../../stream/count-stream.ts';
import type { FromWriter, StreamWriterData, ToWriter } from './stream-writer-protocol.ts';

/** A stream's sink, and a way to hear that its client went (or was dropped) wherever its socket is. */
export interface WatchedSink {
  readonly sink: StreamSink;
  /** Called once, when the connection closes without the stream having closed it. */
  watch(onClosed: (reason: CloseReason) => void): void;
}

/**
 * The event stream's head, once: a body that is not chunked (it ends with the connection), and
 * no Nagle delay, so each flush leaves at once.
 */
function writeHead(res: ServerResponse, headers: OutgoingHttpHeaders): void {
  if (res.headersSent) return;
  res.useChunkedEncodingByDefault = false;
  res.writeHead(200, headers);
  res.socket?.setNoDelay(true);
}

/** Writes on the response from this thread (`--stream-writer main`). */
export function responseSink(res: ServerResponse, headers: OutgoingHttpHeaders): WatchedSink {
  const head = (): void => writeHead(res, headers);
  return {
    sink: {
      write: (text) => {
        if (res.destroyed) return;
        const socket = res.socket;
        // Once the head is out, the body is raw bytes on the socket (not chunked): writing there
        // directly skips the response's cork and its uncork on the next tick, per write.
        if (res.headersSent && socket !== null) socket.write(text);
        else {
          head();
          res.write(text);
        }
      },
      get buffered() {
        return res.writableLength;
      },
      destroy: () => res.destroy(),
      end: () => {
        head();
        res.end();
      },
    },
    watch: (onClosed) => {
      if (res.destroyed) onClosed('gone');
      else res.on('close', () => onClosed('gone'));
    },
  };
}

/** The child's entry point. */
const CHILD = fileURLToPath(new URL('./stream-writer-child.ts', import.meta.url));
const NOT_INHERITED = /^--(test|inspect|watch)/;

/**
 * The Node flags of this process that the writer child takes: all but the test runner's, the
 * inspector's and watch mode's, each dropped with its value when that is a separate argument
 * (`--test-name-pattern X`: a child handed the bare `X` took it for its script and exited).
 */
export function inheritedExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] ?? '';
    if (!NOT_INHERITED.test(arg)) kept.push(arg);
    else if (!arg.includes('=') && !(execArgv[i + 1] ?? '-').startsWith('-')) i++;
  }
  return kept;
}

/**
 * Live streams' socket writes in a child process (`--stream-writer process`, the default). With
 * 1,000 busy streams the api thread made 10,000 socket writes a second, each a loopback `write`
 * that also runs the reader's side of TCP: a tenth of the thread that serves reads and writes
 * (BENCHMARKS.md, "Live streams: the writes in a process of their own"). Node cannot move a socket
 * to a worker thread, but it can pass one to a child process.
 *
 * A stream's head and opening values are written here; once the kernel has them, the socket goes
 * to the child (which owns it from then on), and each flush of the hub becomes an entry in one
 * message per turn of the event loop. The child drops a client that leaves more than
 * `maxBufferedBytes` unread and reports every close. The child starts with the first stream; if
 * it dies, the streams it held end (their clients reconnect with `Last-Event-ID`) and the next
 * stream starts another.
 */
export class StreamWriterProcess {
  readonly #data: StreamWriterData;
  readonly #log: Logger;
  readonly #metrics: LiveMetrics;
  /** CPU seconds the current child had used at its last report. */
  #cpuSeen = 0;
  #child: ChildProcess | undefined;
  /** Streams held by the current child, by id. */
  readonly #held = new Map<number, Handoff>();
  #nextId = 1;
  #ids: number[] = [];
  #texts: string[] = [];
  #scheduled = false;
  #closing = false;

  constructor(data: StreamWriterData, deps: { log: Logger; metrics: LiveMetrics }) {
    this.#data = data;
    this.#log = deps.log;
    this.#metrics = deps.metrics;
  }

  /** A sink writing the head and the first texts on `res`, then handing its socket to the child. */
  sink(res: ServerResponse, headers: OutgoingHttpHeaders): WatchedSink {
    return new Handoff(this, this.#nextId++, res, headers);
  }

  /** Ends the child: it ends the streams it holds (the hub has sent their `end` already). */
  close(): void {
    this.#closing = true;
    this.#send();
    const child = this.#child;
    this.#child = undefined;
    if (child?.connected === true) child.disconnect();
  }

  /** Gives `socket` to the child, with what was written for it meanwhile. */
  adopt(handoff: Handoff, socket: NonNullable<ServerResponse['socket']>, text: string): boolean {
    const child = this.#spawn();
    if (child === undefined) return false;
    this.#send();
    this.#held.set(handoff.id, handoff);
    child.send({ t: 'adopt', id: handoff.id, text } satisfies ToWriter, socket, { keepOpen: false }, (error) => {
      if (error !== null && error !== undefined) this.#closed(handoff.id, 'gone');
    });
    return true;
  }

  /** Queues `text` for an adopted stream; the turn's texts go to the child in one message. */
  write(id: number, text: string): void {
    this.#ids.push(id);
    this.#texts.push(text);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#send());
  }

  /** Tells the child to destroy or end an adopted stream's connection. */
  order(t: 'destroy' | 'end', id: number): void {
    this.#send();
    this.#held.delete(id);
    if (this.#child?.connected === true) this.#child.send({ t, id } satisfies ToWriter);
  }

  #send(): void {
    this.#scheduled = false;
    if (this.#ids.length === 0) return;
    const message: ToWriter = { t: 'write', ids: this.#ids, texts: this.#texts };
    this.#ids = [];
    this.#texts = [];
    if (this.#child?.connected === true) this.#child.send(message);
  }

  #spawn(): ChildProcess | undefined {
    if (this.#closing) return undefined;
    if (this.#child !== undefined) return this.#child;
    const child = fork(CHILD, [JSON.stringify(this.#data)], {
      execArgv: inheritedExecArgv(process.execArgv),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child = child;
    this.#cpuSeen = 0;
    child.on('message', (message: FromWriter) => {
      if (message.t === 'closed') this.#closed(message.id, message.reason);
      else if (message.t === 'usage' && this.#child === child) {
        this.#metrics.writerRss.set(message.rssBytes);
        this.#metrics.writerAnonymous.set(message.anonymousBytes ?? message.rssBytes);
        this.#metrics.writerCpu.inc(Math.max(0, message.cpuSeconds - this.#cpuSeen));
        this.#cpuSeen = message.cpuSeconds;
      }
    });
    child.on('error', (error) => this.#log.error({ err: error }, 'live streams: the stream writer process failed'));
    child.on('exit', (code, signal) => {
      if (this.#child === child) {
        this.#child = undefined;
        this.#metrics.writerRss.set(0);
        this.#metrics.writerAnonymous.set(0);
      }
      if (!this.#closing) this.#log.error({ code, signal, streams: this.#held.size }, 'live streams: the stream writer process exited; its streams end (clients resume with Last-Event-ID)');
      for (const id of [...this.#held.keys()]) this.#closed(id, 'gone');
    });
    // The channel alone does not keep the api process running.
    child.unref();
    child.channel?.unref();
    return child;
  }

  #closed(id: number, reason: 'gone' | 'slow'): void {
    const handoff = this.#held.get(id);
    this.#held.delete(id);
    handoff?.closedByWriter(reason);
  }
}

/** One stream's sink: on the response until its socket is handed to the child, then through it. */
class Handoff implements WatchedSink {
  readonly id: number;
  readonly #writer: StreamWriterProcess;
  readonly #res: ServerResponse;
  readonly #headers: OutgoingHttpHeaders;
  #state: 'new' | 'flushing' | 'adopted' | 'closed' = 'new';
  /** Texts written while the head and first text make their way to the kernel. */
  #pending: string[] = [];
  #onClosed: ((reason: CloseReason) => void) | undefined;
  readonly sink: StreamSink;

  constructor(writer: StreamWriterProcess, id: number, res: ServerResponse, headers: OutgoingHttpHeaders) {
    this.#writer = writer;
    this.id = id;
    this.#res = res;
    this.#headers = headers;
    this.sink = {
      write: (text) => this.#write(text),
      get buffered() {
        return res.writableLength;
      },
      destroy: () => this.#stop('destroy'),
      end: () => this.#stop('end'),
    };
    res.once('close', () => {
      // After the hand-off this thread's socket is detached: a close then is this side's clean-up.
      if (this.#state === 'new' || this.#state === 'flushing') this.#closedHere('gone');
    });
  }

  watch(onClosed: (reason: CloseReason) => void): void {
    if (this.#state === 'closed' || this.#res.destroyed) onClosed('gone');
    else this.#onClosed = onClosed;
  }

  closedByWriter(reason: 'gone' | 'slow'): void {
    // This thread's copy of the socket was detached by the hand-off: destroying it only lets the
    // HTTP server forget the connection.
    this.#res.socket?.destroy();
    this.#closedHere(reason);
  }

  #closedHere(reason: CloseReason): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#pending = [];
    this.#onClosed?.(reason);
  }

  #write(text: string): void {
    switch (this.#state) {
      case 'new': {
        const res = this.#res;
        if (res.destroyed) return;
        writeHead(res, this.#headers);
        this.#state = 'flushing';
        res.write(text, (error) => {
          if (error !== null && error !== undefined) this.#closedHere('gone');
          else this.#handOff();
        });
        return;
      }
      case 'flushing':
        this.#pending.push(text);
        return;
      case 'adopted':
        this.#writer.write(this.id, text);
        return;
      case 'closed':
        return;
    }
  }

  #handOff(): void {
    if (this.#state !== 'flushing') return;
    const socket = this.#res.socket;
    const text = this.#pending.join('');
    this.#pending = [];
    if (socket === null || socket.destroyed) {
      this.#closedHere('gone');
      return;
    }
    if (socket.writableLength > 0) {
      // A socket with bytes still queued here cannot move yet: once they are out.
      if (text !== '') socket.write(text);
      socket.once('drain', () => this.#handOff());
      return;
    }
    this.#state = 'adopted';
    if (!this.#writer.adopt(this, socket, text)) {
      // The writer is shutting down: finish here.
      this.#state = 'flushing';
      if (text !== '') socket.write(text);
    }
  }

  #stop(how: 'destroy' | 'end'): void {
    const state = this.#state;
    if (state === 'closed') return;
    if (state === 'adopted') {
      this.#state = 'closed';
      this.#writer.order(how, this.id);
      return;
    }
    this.#state = 'closed';
    const res = this.#res;
    if (how === 'destroy') {
      res.destroy();
      return;
    }
    writeHead(res, this.#headers);
    res.end(this.#pending.join(''));
    this.#pending = [];
  }
}
