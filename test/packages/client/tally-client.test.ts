import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TallyApiError, TallyClient, type StreamedCount } from '../../../packages/client/src/index.ts';
import { REPO_ROOT, startServer, type ServerProcess } from '../../helpers/server-process.ts';

let server: ServerProcess;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tally-client-'));
  server = await startServer(['serve', '--port', '0', '--data', dir, '--log-level', 'warn', '--reconcile-interval-ms', '0', '--max-streams', '2', '--stream-interval-ms', '20']);
});

after(async () => {
  server.child.kill('SIGTERM');
  await server.exited;
  rmSync(dir, { recursive: true, force: true });
});

/** A proxy in front of the real server that answers the first `failures` requests itself. */
async function flakyProxy(failures: { status: number; retryAfter?: string }[]): Promise<{ url: string; hits: () => number; server: Server }> {
  let hits = 0;
  const target = new URL(server.url);
  const proxy = createServer((req, res) => {
    const failure = failures[hits++];
    if (failure !== undefined) {
      res.writeHead(failure.status, { 'content-type': 'application/json', ...(failure.retryAfter === undefined ? {} : { 'retry-after': failure.retryAfter }) });
      res.end(JSON.stringify({ error: { code: failure.status === 429 ? 'ingest_lagging' : 'overloaded', message: 'injected by the test' } }));
      return;
    }
    const upstream = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, hits: () => hits, server: proxy };
}

test('every method against a real ./tally serve', async () => {
  const tally = new TallyClient({ baseUrl: server.url, token: 'unused-by-an-unauthenticated-server' });
  assert.deepEqual(await tally.like('c1', 'alice'), { accepted: 1 });
  assert.deepEqual(await tally.like('c1', 'bob', { wait: 'applied' }), { accepted: 1, applied: true });
  assert.equal(await tally.hasLiked('c1', 'alice'), true);
  assert.equal(await tally.hasLiked('c1', 'nobody'), false);
  assert.equal(await tally.count('c1'), 2);
  await tally.unlike('c1', 'bob', { wait: 'applied' });
  assert.equal(await tally.count('c1'), 1);
  const users = Array.from({ length: 25 }, (_, i) => `u${String(i).padStart(2, '0')}`);
  assert.deepEqual(await tally.bulk(users.map((userId) => ({ op: 'like' as const, postId: 'c2', userId })), { wait: 'applied' }), { accepted: 25, applied: true });
  assert.deepEqual(await tally.counts(['c1', 'c2', 'c3'], { viewer: 'alice' }), { counts: { c1: 1, c2: 25, c3: 0 }, liked: { c1: true, c2: false, c3: false } });
  assert.deepEqual(await tally.counts(['c2']), { counts: { c2: 25 } });
  const likers: string[] = [];
  for await (const liker of tally.likers('c2', { pageSize: 7 })) {
    assert.match(liker.likedAt, /^\d{4}-\d\d-\d\dT/);
    likers.push(liker.userId);
  }
  assert.deepEqual([...likers].sort(), users);
  await assert.rejects(tally.count('not valid!'), (error: unknown) => error instanceof TallyApiError && error.code === 'invalid_id' && error.status === 400);
});

test('userLikes: every page of a Likes tab, newest first, against a real ./tally serve', async () => {
  const tally = new TallyClient({ baseUrl: server.url });
  const posts = Array.from({ length: 23 }, (_, i) => `tab${String(i).padStart(2, '0')}`);
  for (const postId of posts.slice(0, 20)) await tally.like(postId, 'fan', { wait: 'applied' });
  await tally.bulk(posts.slice(20).map((postId) => ({ op: 'like' as const, postId, userId: 'fan' })), { wait: 'applied' });
  await tally.unlike('tab05', 'fan', { wait: 'applied' });
  await tally.like('tab-other', 'someone-else', { wait: 'applied' });
  const seen: string[] = [];
  let previous = Number.POSITIVE_INFINITY;
  for await (const like of tally.userLikes('fan', { limit: 4 })) {
    const at = Date.parse(like.likedAt);
    assert.ok(at <= previous, 'newest first');
    previous = at;
    seen.push(like.postId);
  }
  assert.deepEqual([...seen].sort(), posts.filter((p) => p !== 'tab05'));
  assert.equal(seen.at(-1), 'tab00', 'the oldest like last');
  let none = 0;
  for await (const like of tally.userLikes('nobody-at-all')) none += like.postId.length;
  assert.equal(none, 0);
  await assert.rejects(async () => {
    for await (const like of tally.userLikes('bad id!')) none += like.postId.length;
  }, (error: unknown) => error instanceof TallyApiError && error.code === 'invalid_id' && error.status === 400);
});

test('stream: current values, then changes; an abort ends it; resuming from an eventId gets only what changed since', async () => {
  const tally = new TallyClient({ baseUrl: server.url });
  await tally.like('s1', 'first', { wait: 'applied' });
  const stop = new AbortController();
  const seen: StreamedCount[] = [];
  const reading = (async () => {
    for await (const event of tally.stream(['s1', 's2'], { signal: stop.signal, reconnectDelayMs: 50 })) seen.push(event);
  })();
  const until = async (check: () => boolean): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!check()) {
      assert.ok(Date.now() < deadline, `stream: ${JSON.stringify(seen)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const latest = (postId: string): number | undefined => seen.filter((e) => e.postId === postId).at(-1)?.count;
  await until(() => latest('s1') === 1 && latest('s2') === 0);
  await tally.like('s2', 'x');
  await until(() => latest('s2') === 1);
  assert.ok(seen.every((e) => /^[a-z0-9]+\.\d+$|^0$/.test(e.eventId)));
  stop.abort();
  await assert.rejects(reading, (error: unknown) => error instanceof Error && error.name === 'AbortError');

  // Resuming from the last id gets only what changed since, at its current value.
  const resumeFrom = seen.at(-1)?.eventId ?? '';
  await tally.like('s1', 'second', { wait: 'applied' });
  const again = new AbortController();
  const resumed: StreamedCount[] = [];
  for await (const event of tally.stream(['s1', 's2'], { signal: again.signal, lastEventId: resumeFrom })) {
    resumed.push(event);
    if (event.postId === 's1' && event.count === 2) break;
  }
  assert.deepEqual(resumed.map((e) => [e.postId, e.count]), [['s1', 2]]);
});

test('retries 429 and 503 honouring Retry-After, then succeeds; gives up after the retries with the code', async (t) => {
  const proxy = await flakyProxy([{ status: 429, retryAfter: '1' }, { status: 503 }, { status: 503, retryAfter: '0' }]);
  t.after(() => proxy.server.close());
  const tally = new TallyClient({ baseUrl: proxy.url, retry: { baseDelayMs: 10 } });
  const started = Date.now();
  assert.deepEqual(await tally.like('r1', 'u1'), { accepted: 1 });
  assert.equal(proxy.hits(), 4);
  assert.ok(Date.now() - started >= 1000, 'waited the Retry-After of 1 s');

  const stubborn = await flakyProxy(Array.from({ length: 10 }, () => ({ status: 503, retryAfter: '0' })));
  t.after(() => stubborn.server.close());
  const impatient = new TallyClient({ baseUrl: stubborn.url, retry: { retries: 2 } });
  await assert.rejects(impatient.count('r1'), (error: unknown) => error instanceof TallyApiError && error.code === 'overloaded' && error.status === 503);
  assert.equal(stubborn.hits(), 3);
});

test('a stream refused with 503 too_many_streams is retried until a slot frees', async (t) => {
  const tally = new TallyClient({ baseUrl: server.url, retry: { baseDelayMs: 20, maxDelayMs: 200 } });
  const holders = [new AbortController(), new AbortController()];
  t.after(() => holders.forEach((holder) => holder.abort()));
  const held = holders.map(async (holder) => {
    for await (const event of tally.stream(['m1'], { signal: holder.signal })) void event;
  });
  for (const holding of held) holding.catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const raw = await fetch(`${server.url}/v1/stream/counts?posts=m1`);
  assert.equal(raw.status, 503);
  assert.equal(((await raw.json()) as { error: { code: string } }).error.code, 'too_many_streams');
  setTimeout(() => holders[0]?.abort(), 300);
  const third = new AbortController();
  for await (const event of tally.stream(['m1'], { signal: third.signal })) {
    assert.equal(event.postId, 'm1');
    break;
  }
  holders[1]?.abort();
  await Promise.allSettled(held);
});

test('abort: a call and a Retry-After wait reject with the AbortError', async (t) => {
  const proxy = await flakyProxy(Array.from({ length: 10 }, () => ({ status: 503, retryAfter: '5' })));
  t.after(() => proxy.server.close());
  const tally = new TallyClient({ baseUrl: proxy.url });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const started = Date.now();
  await assert.rejects(tally.like('a1', 'u1', { signal: controller.signal }), { name: 'AbortError' });
  assert.ok(Date.now() - started < 2000, 'the abort cut the Retry-After wait');
  await assert.rejects(new TallyClient({ baseUrl: server.url }).count('a1', { signal: AbortSignal.abort() }), { name: 'AbortError' });
});

test('the build is plain ESM that imports nothing but its own files', () => {
  const out = mkdtempSync(join(tmpdir(), 'tally-client-dist-'));
  try {
    execFileSync(process.execPath, ['--no-warnings', join(REPO_ROOT, 'packages/client/build.ts'), out], { stdio: 'pipe' });
    for (const file of readdirSync(out)) {
      const imports = [...readFileSync(join(out, file), 'utf8').matchAll(/(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
      for (const specifier of imports) assert.match(specifier, /^\.\/[a-z-]+\.js$/, `${file} imports ${specifier}`);
    }
    const probe = `import('${join(out, 'index.js')}').then((m) => { if (typeof m.TallyClient !== 'function' || typeof m.TallyApiError !== 'function') process.exit(1); })`;
    execFileSync(process.execPath, ['--input-type=module', '-e', probe], { stdio: 'pipe' });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
