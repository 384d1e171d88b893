import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { ERROR_CODES } from '../../../src/domain/errors.ts';
import { startEmbedded } from '../../helpers/embedded-app.ts';

interface RawAnswer {
  readonly status: number;
  readonly headers: string;
  readonly body: string;
  /** ms from connect to the server closing the connection. */
  readonly closedAfterMs: number;
}

function open(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends `chunks` (spaced by `gapMs`) on a fresh connection and reads until the server closes it (bounded). */
async function raw(url: string, chunks: readonly string[], gapMs = 0, limitMs = 10_000): Promise<RawAnswer> {
  const started = Date.now();
  const socket = await open(url);
  let data = '';
  socket.on('data', (chunk: Buffer) => {
    data += chunk.toString('latin1');
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  for (const chunk of chunks) {
    if (socket.destroyed) break;
    socket.write(chunk);
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
  }
  const timer = setTimeout(() => socket.destroy(), limitMs);
  await closed;
  clearTimeout(timer);
  const split = data.indexOf('\r\n\r\n');
  const head = split < 0 ? data : data.slice(0, split);
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body: split < 0 ? '' : data.slice(split + 4), closedAfterMs: Date.now() - started };
}

function assertContract(answer: { status: number; body: string }, status: number, code: string, what: string): void {
  assert.equal(answer.status, status, `${what}: status (got ${answer.status}: ${answer.body.slice(0, 200)})`);
  const body = JSON.parse(answer.body) as { error: { code: string; message: string } };
  assert.equal(body.error.code, code, `${what}: code`);
  assert.ok((ERROR_CODES as readonly string[]).includes(code));
  assert.ok(body.error.message.length > 10, `${what}: a message`);
}

test('malformed HTTP and framework errors before routing get the error contract', async (t) => {
  const { app } = await startEmbedded(t, { headersTimeoutMs: 1500, requestTimeoutMs: 3000, keepAliveTimeoutMs: 500 });
  const url = app.url ?? '';
  const host = new URL(url).host;

  assertContract(await raw(url, ['GARBAGE LINE\r\n\r\n']), 400, 'bad_request', 'a bad request line');
  assertContract(await raw(url, ['GET /v1/posts/p/count HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n']), 400, 'bad_request', 'a bad header');
  assertContract(await raw(url, ['GET /v1/posts/p/count HTTP/1.1\r\nConnection: close\r\n\r\n']), 400, 'bad_request', 'no Host header');
  assertContract(await raw(url, [`GET /v1/counts?posts=${'a'.repeat(30_000)} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`]), 431, 'headers_too_large', 'a 30 KB query string');

  const fetchJson = async (path: string, init: RequestInit = {}): Promise<{ status: number; body: string; headers: Headers }> => {
    const res = await fetch(`${url}${path}`, init);
    return { status: res.status, body: await res.text(), headers: res.headers };
  };
  assertContract(await fetchJson(`/v1/posts/${'a'.repeat(150)}/count`), 400, 'invalid_id', 'a 150-character post id');
  assertContract(await fetchJson(`/v1/posts/${'a'.repeat(150)}/likes/u1`, { method: 'PUT' }), 400, 'invalid_id', 'a 150-character post id on a write');
  assertContract(await fetchJson('/v1/posts/%zz/count'), 400, 'bad_request', 'bad percent-encoding');
  assertContract(await fetchJson('/v1/events', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' }), 415, 'unsupported_media_type', 'a text/plain body');
  const patch = await fetchJson('/v1/posts/p/count', { method: 'PATCH' });
  assertContract(patch, 405, 'method_not_allowed', 'an unknown method on a known path');
  assert.equal(patch.headers.get('allow'), 'GET, HEAD');
  const put = await fetchJson('/v1/events', { method: 'PUT' });
  assertContract(put, 405, 'method_not_allowed', 'PUT on the bulk route');
  assert.equal(put.headers.get('allow'), 'POST');
  assertContract(await fetchJson('/v2/nothing', { method: 'PATCH' }), 404, 'not_found', 'an unknown path');
});

test('slow and idle clients are cut off, keep-alive is bounded, and so is the number of connections', async (t) => {
  const { app } = await startEmbedded(t, { headersTimeoutMs: 1000, requestTimeoutMs: 2000, keepAliveTimeoutMs: 500, maxConnections: 4 });
  const url = app.url ?? '';
  const host = new URL(url).host;

  const idle = await raw(url, [], 0, 15_000);
  assert.ok(idle.closedAfterMs < 4_000, `a connection that never sends a byte is closed (after ${idle.closedAfterMs} ms)`);
  if (idle.status !== 0) assertContract(idle, 408, 'request_timeout', 'an idle connection');

  const header = `GET /v1/posts/p/count HTTP/1.1\r\nHost: ${host}\r\nX-Slow: ${'a'.repeat(40)}\r\n\r\n`;
  const slowloris = await raw(url, [...header], 100, 15_000);
  assert.ok(slowloris.closedAfterMs < 5_000, `a header sent one byte per 100 ms is cut off (after ${slowloris.closedAfterMs} ms)`);
  assertContract(slowloris, 408, 'request_timeout', 'slowloris');

  const keepAlive = await raw(url, [`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`], 0, 15_000);
  assert.equal(keepAlive.status, 200);
  assert.ok(keepAlive.closedAfterMs < 3_000, `an idle keep-alive connection is closed (after ${keepAlive.closedAfterMs} ms)`);

  const sockets = await Promise.all(Array.from({ length: 10 }, () => open(url).catch(() => undefined)));
  await new Promise((r) => setTimeout(r, 300));
  const refused = sockets.filter((s) => s === undefined || s.destroyed || s.readableEnded).length;
  for (const s of sockets) s?.destroy();
  assert.ok(refused >= 6, `connections beyond --max-connections 4 are refused (${refused} of 10)`);
  await new Promise((r) => setTimeout(r, 200));
  const after = await fetch(`${url}/healthz`);
  assert.equal(after.status, 200, 'the server still answers');
});
