/**
 * Fault tests of the distributed mode against the real servers: each stage in its own process,
 * under a steady write load, stages killed with SIGKILL, the servers restarted, ingest and counter
 * scaled out and in, Redis refusing writes while the last ones are counted; then, after drain,
 * every count must equal its rows and the independent model. Stage logs go to a folder under the
 * temporary directory, kept (and named on stderr) when a test fails.
 *
 * These restart the shared Kafka, PostgreSQL and Redis: they run in the serial phase of
 * scripts/test.sh (test/faults/), never beside other tests.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { createAdmin } from '../../src/adapters/kafka/kafka-client.ts';
import { distributedNamespace, dropDistributedNamespace, SERVERS, serverFlags } from '../helpers/distributed-namespace.ts';
import { LikesModel } from '../helpers/likes-model.ts';
import { REPO_ROOT } from '../helpers/server-process.ts';
import { startStage, stopStage, type StageProcess } from '../helpers/stage-process.ts';
import { eventually } from '../helpers/wait.ts';
import { SteadyWriter } from './steady-writer.ts';

const run = promisify(execFile);

/** Posts written at a time; the window moves on by one post every SHIFT_EVERY batches (about 1 s). */
const POSTS = 30;
const SHIFT_EVERY = 40;
/** Post of the recovery probes (`?wait=applied` writes), kept apart from the writer's posts. */
const PROBE_POST = 'probe';
const USERS = 500;
const KILL_ROUNDS = 3;
const SCALE_CYCLES = 3;
const RECOVERY_MS = 90_000;
const DRAIN_MS = 60_000;
/** Counts that have not moved for this long after the writer stopped are final. */
const STALL_MS = 10_000;

type StageKind = 'api' | 'ingest' | 'cdc' | 'counter';

const ns = distributedNamespace();
const logDir = mkdtempSync(join(tmpdir(), `tally-faults-${ns}-`));
const model = new LikesModel();
const processes: Record<StageKind, StageProcess[]> = { api: [], ingest: [], cdc: [], counter: [] };
let launched = 0;
let probes = 0;
let writer: SteadyWriter;
let passedTests = 0;

function stageArgs(kind: StageKind): string[] {
  const common = [...serverFlags(ns), '--partitions', '4', '--log-level', 'info', '--kafka-session-timeout-ms', '6000'];
  return kind === 'api' ? ['api', '--port', '0', '--wait-applied-ms', '20000', ...common] : [kind, ...common];
}

async function launch(kind: StageKind): Promise<StageProcess> {
  const stage = await startStage(stageArgs(kind), join(logDir, `${kind}-${++launched}.log`));
  processes[kind].push(stage);
  return stage;
}

function apiUrl(): string {
  const api = processes.api[0];
  if (api === undefined) throw new Error('the api is not running');
  return api.url;
}

/** Every stage process still runs (a stage must survive an outage of its servers, not exit). */
function assertAllAlive(when: string): void {
  for (const [kind, list] of Object.entries(processes)) {
    for (const stage of list) {
      if (!stage.alive()) {
        const tail = readFileSync(stage.logFile, 'utf8').slice(-3000);
        assert.fail(`${kind} (${stage.logFile}) exited ${when} with ${String(stage.child.exitCode ?? stage.child.signalCode)}; its log ends with:\n${tail}`);
      }
    }
  }
}

/**
 * Proves the whole pipeline flows: a like with `?wait=applied` is counted. Retried (the like is
 * idempotent) until it is, bounded; the model takes it once acknowledged as applied.
 */
async function pipelineFlows(when: string): Promise<number> {
  const userId = `probe${probes++}`;
  const started = Date.now();
  let last = '';
  while (Date.now() - started < RECOVERY_MS) {
    assertAllAlive(when);
    writer.check();
    try {
      const res = await fetch(`${apiUrl()}/v1/posts/${PROBE_POST}/likes/${userId}?wait=applied`, { method: 'PUT', signal: AbortSignal.timeout(30_000) });
      const body = await res.text();
      // 504 says the like is durable but not counted yet: the model has it either way.
      if (res.status === 202 || res.status === 504) model.apply([{ op: 'like', postId: PROBE_POST, userId }]);
      if (res.status === 202) return Date.now() - started;
      last = `${res.status} ${body}`;
    } catch (error) {
      last = String(error);
    }
    await sleep(250);
  }
  throw new Error(`no write was counted within ${RECOVERY_MS} ms ${when}; last answer: ${last}; stage logs in ${logDir}`);
}

/** The API's counts of many posts (in requests of at most 500, the default --max-read-posts). */
async function apiCounts(postIds: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < postIds.length; i += 500) {
    const res = await fetch(`${apiUrl()}/v1/counts?posts=${postIds.slice(i, i + 500).join(',')}`);
    assert.equal(res.status, 200, `GET /v1/counts answered ${res.status}`);
    Object.assign(counts, ((await res.json()) as { counts: Record<string, number> }).counts);
  }
  return counts;
}

/** Kills the oldest `kind` process with SIGKILL and starts a new one; resolves with the ms until it was ready. */
async function killAndRestart(kind: StageKind): Promise<number> {
  const victim = processes[kind].shift();
  assert.ok(victim !== undefined, `a ${kind} process runs`);
  victim.child.kill('SIGKILL');
  assert.equal(await victim.exited, 'SIGKILL');
  const started = Date.now();
  await launch(kind);
  return Date.now() - started;
}

async function groupMembers(group: string): Promise<number> {
  const admin = createAdmin({ brokers: SERVERS.brokers });
  try {
    const described = await admin.describeGroups({ groups: [`${ns}.${group}`] });
    return described.get(`${ns}.${group}`)?.members.size ?? 0;
  } finally {
    await admin.close();
  }
}

/** Sets Redis's maxmemory (`1`: every write is refused, `0`: no limit, the project's setting). */
async function setRedisMaxmemory(bytes: string): Promise<void> {
  await run('redis-cli', ['-u', SERVERS.redisUrl, 'CONFIG', 'SET', 'maxmemory', bytes]);
}

/** How many times each stage's log says a batch failed and was retried. */
function retriedBatches(): string {
  const counts = new Map<string, number>();
  for (const file of readdirSync(logDir)) {
    const kind = file.replace(/-\d+\.log$/, '');
    const n = readFileSync(join(logDir, file), 'utf8').split('batch failed, reopening').length - 1;
    counts.set(kind, (counts.get(kind) ?? 0) + n);
  }
  return [...counts].map(([kind, n]) => `${kind} ${n}`).join(', ');
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

before(async () => {
  await run('./tally', ['services', 'up'], { cwd: REPO_ROOT, timeout: 300_000 });
  await launch('api');
  await Promise.all([launch('ingest'), launch('cdc'), launch('counter')]);
  writer = new SteadyWriter(apiUrl(), model, { posts: POSTS, shiftEvery: SHIFT_EVERY, users: USERS, batchSize: 200, pauseMs: 20, retryPauseMs: 200, inFlightDeadlineMs: 120_000, requestTimeoutMs: 30_000 });
  writer.start();
  await pipelineFlows('at start');
});

after(async () => {
  await writer?.stop().catch(() => undefined);
  const all = Object.values(processes).flat();
  await Promise.all(all.map((stage) => stopStage(stage, 'SIGTERM', 20_000)));
  // Whatever happened, leave the shared servers running (and Redis writable) for the next tests.
  await run('./tally', ['services', 'up'], { cwd: REPO_ROOT, timeout: 300_000 });
  await setRedisMaxmemory('0');
  await dropDistributedNamespace(ns);
  if (passedTests === 5) rmSync(logDir, { recursive: true, force: true });
  else process.stderr.write(`distributed fault test: stage logs kept in ${logDir}\n`);
});

test(`kill -9 of ingest, cdc and counter at random moments under load, ${KILL_ROUNDS} times each, each restarted`, { timeout: 300_000 }, async (t) => {
  for (let round = 0; round < KILL_ROUNDS; round++) {
    for (const kind of shuffled<StageKind>(['ingest', 'cdc', 'counter'])) {
      await sleep(300 + Math.random() * 1200);
      const before = writer.acknowledgedBatches;
      const readyMs = await killAndRestart(kind);
      const recoveredMs = await pipelineFlows(`after kill -9 of ${kind} (round ${round + 1})`);
      t.diagnostic(`round ${round + 1}: kill -9 ${kind}, new process ready in ${readyMs} ms, counting again ${recoveredMs} ms later; ${writer.acknowledgedBatches - before} batches acknowledged meanwhile`);
    }
  }
  t.diagnostic(`writer: ${writer.summary()}`);
  passedTests++;
});

test('restart of Kafka, PostgreSQL and Redis, one at a time, under load', { timeout: 600_000 }, async (t) => {
  for (const service of ['kafka', 'postgres', 'redis']) {
    await sleep(500 + Math.random() * 1000);
    const before = writer.acknowledgedBatches;
    const started = Date.now();
    await run('./tally', ['services', 'restart', service], { cwd: REPO_ROOT, timeout: 300_000 });
    const restartMs = Date.now() - started;
    const recoveredMs = await pipelineFlows(`after the restart of ${service}`);
    t.diagnostic(`${service}: restarted in ${restartMs} ms, counting again ${recoveredMs} ms later; ${writer.acknowledgedBatches - before} batches acknowledged meanwhile`);
  }
  t.diagnostic(`writer: ${writer.summary()}`);
  passedTests++;
});

test(`ingest and counter grow from one process to two and back, under load, ${SCALE_CYCLES} times`, { timeout: 300_000 }, async (t) => {
  for (let cycle = 1; cycle <= SCALE_CYCLES; cycle++) {
    const [ingest, counter] = [processes.ingest[0], processes.counter[0]];
    assert.ok(ingest !== undefined && counter !== undefined);
    await Promise.all([launch('ingest'), launch('counter')]);
    await eventually('two members in each group', 30_000, async () => ((await groupMembers('ingest')) === 2 && (await groupMembers('counter')) === 2 ? true : undefined), 250);
    await sleep(1000 + Math.random() * 2000);
    const twoMs = await pipelineFlows(`with two ingest and two counter processes (cycle ${cycle})`);
    // The older ones go: their partitions move to the newcomers.
    const exits = await Promise.all([stopStage(ingest), stopStage(counter)]);
    processes.ingest.splice(processes.ingest.indexOf(ingest), 1);
    processes.counter.splice(processes.counter.indexOf(counter), 1);
    assert.deepEqual(exits, [0, 0], 'SIGTERM stops ingest and counter cleanly');
    const oneMs = await pipelineFlows(`after going back to one ingest and one counter (cycle ${cycle})`);
    t.diagnostic(`cycle ${cycle}: two of each counting ${twoMs} ms after both groups had two members; back to one, counting again ${oneMs} ms after the SIGTERM`);
  }
  passedTests++;
});

test('the last writes are counted while Redis refuses writes (maxmemory reached), then it takes them again', { timeout: 120_000 }, async (t) => {
  // Unlike a restart, the cache keeps its entries: counts the counter could not write must still
  // reach it later, though these posts get no more changes.
  await setRedisMaxmemory('1');
  try {
    await sleep(1500);
    await writer.stop();
    await sleep(1500);
  } finally {
    await setRedisMaxmemory('0');
  }
  t.diagnostic(`writer stopped: ${writer.summary()}`);
  passedTests++;
});

test('after drain: every count equals its rows and the model, and no acknowledged like is lost', { timeout: 180_000 }, async (t) => {
  await writer.stop();
  await pipelineFlows('after the writer stopped');
  t.diagnostic(`writer: ${writer.summary()}`);
  t.diagnostic(`retried batches in the stage logs: ${retriedBatches()}`);
  assertAllAlive('at the end');

  const allPosts = [...writer.postIds(), PROBE_POST];
  const expected = model.counts();
  const want = (postId: string): number => expected.get(postId) ?? 0;
  let served: Record<string, number> = {};
  const started = Date.now();
  let changedAt = started;
  // Waits for the counts to equal the model, or to stop changing (then the tables below tell why).
  const drained = await eventually('API counts equal to the model', DRAIN_MS, async () => {
    const now = await apiCounts(allPosts);
    if (JSON.stringify(now) !== JSON.stringify(served)) changedAt = Date.now();
    served = now;
    if (allPosts.every((id) => served[id] === want(id))) return 'equal';
    return Date.now() - changedAt > STALL_MS ? `unchanged for ${STALL_MS} ms` : undefined;
  }, 250).catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
  t.diagnostic(`drain: ${drained} after ${Date.now() - started} ms`);

  const db = new pg.Client({ connectionString: SERVERS.postgresUrl });
  await db.connect();
  try {
    const rows = new Map(
      (await db.query<{ post_id: string; n: string }>(`SELECT post_id, count(*) AS n FROM ${ns}.likes GROUP BY post_id`)).rows.map((r) => [r.post_id, Number(r.n)]),
    );
    const stored = new Map((await db.query<{ post_id: string; count: string }>(`SELECT post_id, count FROM ${ns}.counts`)).rows.map((r) => [r.post_id, Number(r.count)]));
    const pairs = new Set((await db.query<{ post_id: string; user_id: string }>(`SELECT post_id, user_id FROM ${ns}.likes`)).rows.map((r) => `${r.post_id}/${r.user_id}`));

    const table = allPosts.map((id) => ({ id, model: want(id), api: served[id], rows: rows.get(id) ?? 0, counts: stored.get(id) ?? 0 }));
    const wrong = table.filter((r) => r.api !== r.model || r.rows !== r.model || r.counts !== r.model);
    const lost: string[] = [];
    const ghosts: string[] = [];
    for (const postId of allPosts) {
      const users = postId === PROBE_POST ? Array.from({ length: probes }, (_, i) => `probe${i}`) : Array.from({ length: USERS }, (_, i) => `u${i}`);
      for (const userId of users) {
        const liked = model.liked(postId, userId);
        const row = pairs.has(`${postId}/${userId}`);
        if (liked && !row) lost.push(`${postId}/${userId}`);
        if (!liked && row) ghosts.push(`${postId}/${userId}`);
      }
    }
    const report = [
      wrong.length === 0
        ? 'every post agrees'
        : `${wrong.length} posts disagree (post: model / api / likes rows / counts.count):\n${wrong.slice(0, 40).map((r) => `  ${r.id}: ${r.model} / ${String(r.api)} / ${r.rows} / ${r.counts}`).join('\n')}`,
      `acknowledged likes without a row (${lost.length}): ${lost.slice(0, 20).join(' ')}`,
      `rows the model does not have (${ghosts.length}): ${ghosts.slice(0, 20).join(' ')}`,
      `stage logs: ${logDir}`,
    ].join('\n');
    if (lost.length > 0 || ghosts.length > 0 || wrong.length > 0) {
      assert.fail(`every acknowledged like and unlike is in the likes table, and API count == model == COUNT(*) of likes rows == counts.count for every post:\n${report}`);
    }
    assert.equal(drained, 'equal', 'the API serves the model\'s counts');
    t.diagnostic(`${allPosts.length} posts, ${[...expected.values()].reduce((a, b) => a + b, 0)} likes: API, model, rows and counts agree`);
  } finally {
    await db.end();
  }
  passedTests++;
});
