import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { childPids } from '../../../bench/proc-cpu.ts';
import { startEmbedded } from '../../helpers/embedded-app.ts';
import { latestCounts, openSse } from '../../helpers/sse-reader.ts';
import { eventually } from '../../helpers/wait.ts';
import { inheritedExecArgv } from '../../../src/stages/api/stream-writer/stream-writer.ts';

/** Pids of this process's children running the stream writer. */
function writerPids(): number[] {
  return childPids(process.pid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('stream-writer-child');
    } catch {
      return false; // exited meanwhile
    }
  });
}

const like = async (url: string, postId: string, userId: string): Promise<void> => {
  const res = await fetch(`${url}/v1/posts/${postId}/likes/${userId}`, { method: 'PUT' });
  assert.equal(res.status, 202, await res.text());
};

test('the stream writer process: starts with the first stream, ends its streams when killed, and a new stream starts another', async (t) => {
  const before = writerPids();
  const { app } = await startEmbedded(t, { streamWriter: 'process', streamIntervalMs: 10 });
  const url = app.url ?? '';
  assert.deepEqual(writerPids(), before, 'no writer process before a stream opens');
  const first = await openSse(`${url}/v1/stream/counts?posts=w1`);
  t.after(() => first.close());
  assert.equal(first.status, 200);
  await like(url, 'w1', 'u1');
  await first.waitFor((events) => latestCounts(events).get('w1') === 1);
  const started = writerPids().filter((pid) => !before.includes(pid));
  assert.equal(started.length, 1, `one writer process (children: ${started.join(', ')})`);
  // Its memory: the resident set, and the anonymous part of it (the Node binary it shares with the api is not counted twice).
  const memory = await eventually('the writer to report its memory', 5000, async () => {
    const text = await (await fetch(`${url}/metrics?name=tally_stream_writer_resident_memory_bytes&name=tally_stream_writer_anonymous_memory_bytes`)).text();
    const resident = Number(/^tally_stream_writer_resident_memory_bytes (\d+)$/m.exec(text)?.[1] ?? 0);
    const own = Number(/^tally_stream_writer_anonymous_memory_bytes (\d+)$/m.exec(text)?.[1] ?? 0);
    return resident > 0 && own > 0 ? { resident, own } : undefined;
  });
  assert.ok(memory.own < memory.resident, `anonymous ${memory.own} < resident ${memory.resident}`);
  process.kill(started[0] as number, 'SIGKILL');
  await eventually('the stream held by the killed writer to end', 5000, () => (first.ended ? true : undefined));
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /^tally_streams_open 0$/m, 'the hub forgot the stream');
  // A resumed stream is served by a new writer and misses nothing.
  const lastId = first.events.at(-1)?.lastEventId ?? '';
  await like(url, 'w1', 'u2');
  const second = await openSse(`${url}/v1/stream/counts?posts=w1`, { 'last-event-id': lastId });
  t.after(() => second.close());
  await second.waitFor((events) => latestCounts(events).get('w1') === 2);
  await like(url, 'w1', 'u3');
  await second.waitFor((events) => latestCounts(events).get('w1') === 3);
  const restarted = writerPids().filter((pid) => !before.includes(pid));
  assert.equal(restarted.length, 1);
  assert.notEqual(restarted[0], started[0]);
});

test('the stream writer process: stopping the api ends the streams and the process', async (t) => {
  const before = writerPids();
  const { app } = await startEmbedded(t, { streamWriter: 'process' });
  const url = app.url ?? '';
  const sse = await openSse(`${url}/v1/stream/counts?posts=s1,s2`);
  t.after(() => sse.close());
  await sse.waitFor((events) => latestCounts(events).size === 2);
  const writers = writerPids().filter((pid) => !before.includes(pid));
  assert.equal(writers.length, 1);
  await app.stop(2000);
  await eventually('the stream to end when the api stopped', 5000, () => (sse.ended ? true : undefined));
  await eventually('the writer process to exit with the api', 5000, () => (!writerPids().includes(writers[0] as number) ? true : undefined));
});

test('the writer child inherits Node flags but the test runner\'s, the inspector\'s and watch mode\'s, with their separate values', () => {
  assert.deepEqual(
    inheritedExecArgv(['--test', '--test-name-pattern', 'Last-Event-ID', '--max-old-space-size=512', '--inspect=9229', '--test-timeout=30000', '--watch', '--import', 'x.js', '--test-reporter', 'spec']),
    ['--max-old-space-size=512', '--import', 'x.js'],
  );
});
