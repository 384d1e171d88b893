import '../../../config/v8-flags.ts';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { USAGE_EVERY_MS, type FromWriter, type StreamWriterData, type ToWriter } from './stream-writer-protocol.ts';

/**
 * The stream writer's process (see `stream-writer.ts`): holds the sockets of live streams and
 * writes the texts the api process sends for them. A client that leaves more than
 * `maxBufferedBytes` unread is dropped here, and every close is reported back. It exits when the
 * api process goes (the IPC channel closes), after ending the streams it holds.
 */
const data = JSON.parse(process.argv[2] ?? '{}') as StreamWriterData;
const sockets = new Map<number, Socket>();
/** Sockets dropped because their client fell behind (their close is reported as `slow`). */
const slow = new WeakSet<Socket>();

function report(message: FromWriter): void {
  // With a callback, a channel closed meanwhile (the api process going) is no error to throw.
  if (process.connected) process.send?.(message, undefined, {}, () => {});
}

function write(socket: Socket, chunk: string): void {
  if (socket.destroyed) return;
  socket.write(chunk);
  if (socket.writableLength > data.maxBufferedBytes) {
    slow.add(socket);
    socket.destroy();
  }
}

function adopt(id: number, socket: Socket, text: string): void {
  sockets.set(id, socket);
  socket.on('error', () => {});
  socket.once('close', () => {
    if (sockets.get(id) === socket) sockets.delete(id);
    report({ t: 'closed', id, reason: slow.has(socket) ? 'slow' : 'gone' });
  });
  // The client sends nothing more; reading notices when it leaves.
  socket.resume();
  socket.on('data', () => {});
  if (text !== '') write(socket, text);
}

process.on('message', (message: ToWriter, handle?: Socket) => {
  switch (message.t) {
    case 'adopt':
      if (handle === undefined) report({ t: 'closed', id: message.id, reason: 'gone' });
      else adopt(message.id, handle, message.text);
      return;
    case 'write':
      for (let i = 0; i < message.ids.length; i++) {
        const socket = sockets.get(message.ids[i] as number);
        if (socket !== undefined) write(socket, message.texts[i] as string);
      }
      return;
    case 'destroy':
      sockets.get(message.id)?.destroy();
      return;
    case 'end':
      sockets.get(message.id)?.end();
      return;
  }
});

function reportUsage(): void {
  const cpu = process.cpuUsage();
  report({ t: 'usage', rssBytes: process.memoryUsage.rss(), anonymousBytes: anonymousBytes(), cpuSeconds: (cpu.user + cpu.system) / 1e6 });
}

/**
 * This process's anonymous resident memory (Linux `RssAnon`: heaps, stacks, buffers), which no
 * other process holds. The rest of its RSS is file pages, mostly the Node binary and libraries,
 * which the api process has resident too, so api RSS + this is what the two take together.
 * `/proc/self/status` holds counters (0.05 ms to read); `smaps_rollup` walks the page tables
 * (7 ms for a 200 MB process, a stall this writer should not take every second). Undefined where
 * it cannot be read.
 */
function anonymousBytes(): number | undefined {
  try {
    const kib = /^RssAnon:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}
reportUsage();
setInterval(reportUsage, USAGE_EVERY_MS).unref();

// The api process is gone (or closed the channel at shutdown): end every stream, then exit once
// their sockets have closed, or after a second at most.
process.on('disconnect', () => {
  for (const socket of sockets.values()) socket.end();
  setTimeout(() => process.exit(0), 1000).unref();
});
