/**
 * The machinery of the distributed fault tests, for any store profile: each stage in its own
 * process (stderr to a log folder kept when a test fails), a steady writer feeding an independent
 * model, probes that prove the pipeline counts again after a fault, and the final check that
 * every count equals the rows (read by the store's own client, not Tally's code) and the model.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createAdmin } from '../../src/adapters/kafka/kafka-client.ts';
import type { StoreName } from '../../src/config/store-names.ts';
import { distributedNamespace, dropDistributedNamespace, SERVERS, serverFlags } from '../helpers/distributed-namespace.ts';
import { LikesModel } from '../helpers/likes-model.ts';
import { REPO_ROOT } from '../helpers/server-process.ts';
import { startStage, stopStage, type StageProcess } from '../helpers/stage-process.ts';
import { eventually } from '../helpers/wait.ts';
import { SteadyWriter, WriterGroup, type SteadyWriterOptions } from './steady-writer.ts';

export const run = promisify(execFile);

export type StageKind = 'api' | 'ingest' | 'cdc' | 'counter' | 'reconcile';

/** Reads a store's tables with the store's own client, independently of Tally's adapters. */
export interface StoreInspector {
  /** Every (post, user) row of the likes store, as `post/user`. */
  pairs(namespace: string): Promise<Set<string>>;
  /** The counter store's count per post. */
  counts(namespace: string): Promise<Map<string, number>>;
}

export interface FaultClusterOptions {
  /** Names the log folder. */
  readonly name: string;
  readonly store: StoreName;
  readonly inspector: StoreInspector;
  /** Flags every stage process gets besides the servers' (e.g. the store's endpoint, `--hot-shards`). */
  readonly flags?: readonly string[];
  /** Processes started at first; the cdc relay is skipped when 0. */
  readonly initial?: Partial<Record<StageKind, number>>;
  /** Settings shared by every writer. */
  readonly writer?: Partial<SteadyWriterOptions>;
  /** The writers running at once (default: two bulk and two single-like writers), each as its own users. */
  readonly writers?: readonly Partial<SteadyWriterOptions>[];
  /** How long a probe may take to be counted after a fault. */
  readonly recoveryMs?: number;
  /** Kafka bootstrap brokers of the stages (default: the single broker of `./tally services up`). */
  readonly brokers?: string;
  /**
   * Whether ingest and counter processes are static group members (`--kafka-instance-id`, a
   * restarted one keeping its victim's id: it takes the partitions back at once); default true.
   * false: dynamic members, a restarted one waits for the session timeout.
   */
  readonly staticMembers?: boolean;
}

/** Post of the recovery probes (`?wait=applied` writes), kept apart from the writer's posts. */
export const PROBE_POST = 'probe';
const DRAIN_MS = 60_000;
/** Counts that have not moved for this long after the writer stopped are final. */
const STALL_MS = 10_000;

export class FaultCluster {
  readonly ns = distributedNamespace();
  readonly model = new LikesModel();
  readonly processes: Record<StageKind, StageProcess[]> = { api: [], ingest: [], cdc: [], counter: [], reconcile: [] };
  readonly logDir: string;
  readonly #options: FaultClusterOptions;
  readonly #writerOptions: SteadyWriterOptions[];
  #launched = 0;
  /** The `--kafka-instance-id` each group member process was started with. */
  readonly #instanceIds = new Map<StageProcess, string>();
  #probes = 0;
  #writer: WriterGroup | undefined;

  constructor(options: FaultClusterOptions) {
    this.#options = options;
    this.logDir = mkdtempSync(join(tmpdir(), `tally-faults-${options.name}-${this.ns}-`));
    const shared: SteadyWriterOptions = {
      posts: 30,
      shiftEvery: 40,
      users: 150,
      batchSize: 100,
      pauseMs: 20,
      retryPauseMs: 200,
      inFlightDeadlineMs: 120_000,
      requestTimeoutMs: 30_000,
      ...options.writer,
    };
    const writers = options.writers ?? [
      { mode: 'bulk' },
      { mode: 'bulk' },
      { mode: 'single', batchSize: 10, shiftEvery: 400 },
      { mode: 'single', batchSize: 10, shiftEvery: 400 },
    ];
    this.#writerOptions = writers.map((w, i) => ({ ...shared, userPrefix: `w${i}u`, ...w }));
  }

  get brokers(): string {
    return this.#options.brokers ?? SERVERS.brokers;
  }

  /** Every writer, as one. */
  get writer(): WriterGroup {
    if (this.#writer === undefined) throw new Error('FaultCluster: start() first');
    return this.#writer;
  }

  /** Starts the api, then the other stages, then the writer, and waits until a probe is counted. */
  async start(): Promise<void> {
    const initial = { api: 1, ingest: 1, cdc: 1, counter: 1, reconcile: 0, ...this.#options.initial };
    for (let i = 0; i < initial.api; i++) await this.launch('api');
    const others: Promise<StageProcess>[] = [];
    for (const kind of ['ingest', 'cdc', 'counter', 'reconcile'] as const) for (let i = 0; i < initial[kind]; i++) others.push(this.launch(kind));
    await Promise.all(others);
    this.#writer = new WriterGroup(this.#writerOptions.map((options) => new SteadyWriter(() => this.apiUrl(), this.model, options)));
    this.#writer.start();
    await this.pipelineFlows('at start');
  }

  /** Stops the writer and every process, drops the namespace; keeps the logs unless every test passed. */
  async stop(allPassed: boolean): Promise<void> {
    await this.#writer?.stop().catch(() => undefined);
    await Promise.all(Object.values(this.processes).flat().map((stage) => stopStage(stage, 'SIGTERM', 20_000)));
    await dropDistributedNamespace(this.ns, this.#options.store, this.brokers).catch((error: unknown) => process.stderr.write(`fault test: dropping ${this.ns} failed: ${String(error)}\n`));
    if (allPassed) rmSync(this.logDir, { recursive: true, force: true });
    else process.stderr.write(`fault test ${this.#options.name}: stage logs kept in ${this.logDir}\n`);
  }

  stageArgs(kind: StageKind): string[] {
    const common = [...serverFlags(this.ns), '--kafka-brokers', this.brokers, '--store', this.#options.store, '--partitions', '4', '--log-level', 'info', '--kafka-session-timeout-ms', '6000', ...(this.#options.flags ?? [])];
    if (kind === 'api') return ['api', '--port', '0', '--wait-applied-ms', '20000', ...common];
    // A full recount every 2 s: reconciles run while the faults happen, and must change nothing.
    if (kind === 'reconcile') return ['reconcile', '--scheduled', '--reconcile-interval-ms', '2000', ...common];
    return [kind, ...common];
  }

  /** Starts a `kind` process; an ingest or counter one gets `instanceId`, or an id of its own (see `staticMembers`). */
  async launch(kind: StageKind, instanceId?: string): Promise<StageProcess> {
    const n = ++this.#launched;
    const member = (kind === 'ingest' || kind === 'counter') && this.#options.staticMembers !== false;
    const id = member ? (instanceId ?? `${kind}-${n}`) : undefined;
    const stage = await startStage([...this.stageArgs(kind), ...(id === undefined ? [] : ['--kafka-instance-id', id])], join(this.logDir, `${kind}-${n}.log`));
    if (id !== undefined) this.#instanceIds.set(stage, id);
    this.processes[kind].push(stage);
    return stage;
  }

  apiUrl(): string {
    const api = this.processes.api[0];
    if (api === undefined) throw new Error('the api is not running');
    return api.url;
  }

  /** Every stage process still runs (a stage must survive an outage of its servers, not exit). */
  assertAllAlive(when: string): void {
    for (const [kind, list] of Object.entries(this.processes)) {
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
   * idempotent) until it is, bounded; the model takes it once acknowledged.
   */
  async pipelineFlows(when: string): Promise<number> {
    const userId = `probe${this.#probes++}`;
    const started = Date.now();
    const recoveryMs = this.#options.recoveryMs ?? 90_000;
    let last = '';
    while (Date.now() - started < recoveryMs) {
      this.assertAllAlive(when);
      this.#writer?.check();
      try {
        const res = await fetch(`${this.apiUrl()}/v1/posts/${PROBE_POST}/likes/${userId}?wait=applied`, { method: 'PUT', signal: AbortSignal.timeout(30_000) });
        const body = await res.text();
        // 504 says the like is durable but not counted yet: the model has it either way.
        if (res.status === 202 || res.status === 504) this.model.apply([{ op: 'like', postId: PROBE_POST, userId }]);
        if (res.status === 202) return Date.now() - started;
        last = `${res.status} ${body}`;
      } catch (error) {
        last = String(error);
      }
      await sleep(250);
    }
    throw new Error(`no write was counted within ${recoveryMs} ms ${when}; last answer: ${last}; stage logs in ${this.logDir}`);
  }

  /** The API's counts of many posts (in requests of at most 500, the default --max-read-posts). */
  async apiCounts(postIds: readonly string[]): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (let i = 0; i < postIds.length; i += 500) {
      const res = await fetch(`${this.apiUrl()}/v1/counts?posts=${postIds.slice(i, i + 500).join(',')}`);
      assert.equal(res.status, 200, `GET /v1/counts answered ${res.status}`);
      Object.assign(counts, ((await res.json()) as { counts: Record<string, number> }).counts);
    }
    return counts;
  }

  /**
   * Kills the oldest `kind` process with SIGKILL and starts a new one (under the victim's
   * `--kafka-instance-id`, as a restarted pod would be); resolves with the ms until it was ready.
   */
  async killAndRestart(kind: StageKind): Promise<number> {
    const victim = this.processes[kind].shift();
    assert.ok(victim !== undefined, `a ${kind} process runs`);
    victim.child.kill('SIGKILL');
    assert.equal(await victim.exited, 'SIGKILL');
    const started = Date.now();
    await this.launch(kind, this.#instanceIds.get(victim));
    return Date.now() - started;
  }

  /**
   * `rounds` rounds of: for each kind, in a random order, after a random 0.3–1.5 s, kill -9 one
   * process of that kind, start a new one, and wait until the pipeline counts again. Tells
   * `diagnostic` about each kill; resolves with one `<kind> <ms to recover> ms` line per kill.
   */
  async killInRounds(kinds: readonly StageKind[], rounds: number, diagnostic: (line: string) => void): Promise<string[]> {
    const recoveries: string[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const kind of shuffled(kinds)) {
        await sleep(300 + Math.random() * 1200);
        const before = this.writer.acknowledgedBatches;
        const readyMs = await this.killAndRestart(kind);
        const recoveredMs = await this.pipelineFlows(`after kill -9 of ${kind} (round ${round + 1})`);
        recoveries.push(`${kind} ${readyMs + recoveredMs} ms`);
        diagnostic(`round ${round + 1}: kill -9 ${kind}, new process ready in ${readyMs} ms, counting again ${recoveredMs} ms later; ${this.writer.acknowledgedBatches - before} batches acknowledged meanwhile`);
      }
    }
    return recoveries;
  }

  /** Stops one process with SIGTERM (it must exit 0) and forgets it. */
  async retire(stage: StageProcess, kind: StageKind): Promise<void> {
    const code = await stopStage(stage);
    this.processes[kind].splice(this.processes[kind].indexOf(stage), 1);
    assert.equal(code, 0, `SIGTERM stops ${kind} cleanly`);
  }

  async groupMembers(group: string): Promise<number> {
    const admin = createAdmin({ brokers: this.brokers });
    try {
      const described = await admin.describeGroups({ groups: [`${this.ns}.${group}`] });
      return described.get(`${this.ns}.${group}`)?.members.size ?? 0;
    } finally {
      await admin.close();
    }
  }

  /** Waits until the ingest and counter groups have these many members. */
  async waitGroupMembers(ingest: number, counter: number): Promise<void> {
    await eventually(`${ingest} ingest and ${counter} counter group members`, 30_000, async () =>
      (await this.groupMembers('ingest')) === ingest && (await this.groupMembers('counter')) === counter ? true : undefined,
    250);
  }

  /**
   * One scale cycle under load: a second ingest and counter join, the pipeline is proved to count
   * with two of each, then the older ones leave (SIGTERM, exit 0; their partitions move to the
   * newcomers) and it is proved to count again. Resolves with both recovery times.
   */
  async scaleOutAndBack(when: string, jitterMs = 2000): Promise<{ twoMs: number; oneMs: number }> {
    const [ingest, counter] = [this.processes.ingest[0], this.processes.counter[0]];
    assert.ok(ingest !== undefined && counter !== undefined, 'one ingest and one counter run');
    await Promise.all([this.launch('ingest'), this.launch('counter')]);
    await this.waitGroupMembers(2, 2);
    await sleep(1000 + Math.random() * jitterMs);
    const twoMs = await this.pipelineFlows(`with two ingest and two counter processes${when}`);
    await Promise.all([this.retire(ingest, 'ingest'), this.retire(counter, 'counter')]);
    const oneMs = await this.pipelineFlows(`after going back to one ingest and one counter${when}`);
    return { twoMs, oneMs };
  }

  /** How many times each stage's log says a batch failed and was retried. */
  retriedBatches(): string {
    const counts = new Map<string, number>();
    for (const file of readdirSync(this.logDir)) {
      const kind = file.replace(/-\d+\.log$/, '');
      const n = readFileSync(join(this.logDir, file), 'utf8').split('batch failed, reopening').length - 1;
      counts.set(kind, (counts.get(kind) ?? 0) + n);
    }
    return [...counts].map(([kind, n]) => `${kind} ${n}`).join(', ');
  }

  /**
   * Stops the writer, waits for the pipeline to drain, then checks per post that API count ==
   * model == rows of the likes store == the counter store's count, and per (post, user) pair that
   * every acknowledged like has a row and no row lacks one.
   */
  async verifyExact(t: TestContext): Promise<void> {
    await this.writer.stop();
    await this.pipelineFlows('after the writer stopped');
    t.diagnostic(`writer: ${this.writer.summary()}`);
    t.diagnostic(`retried batches in the stage logs: ${this.retriedBatches()}`);
    this.assertAllAlive('at the end');

    const allPosts = [...this.writer.postIds(), PROBE_POST];
    const expected = this.model.counts();
    const want = (postId: string): number => expected.get(postId) ?? 0;
    let served: Record<string, number> = {};
    const started = Date.now();
    let changedAt = started;
    // Waits for the counts to equal the model, or to stop changing (then the tables below tell why).
    const drained = await eventually('API counts equal to the model', DRAIN_MS, async () => {
      const now = await this.apiCounts(allPosts);
      if (JSON.stringify(now) !== JSON.stringify(served)) changedAt = Date.now();
      served = now;
      if (allPosts.every((id) => served[id] === want(id))) return 'equal';
      return Date.now() - changedAt > STALL_MS ? `unchanged for ${STALL_MS} ms` : undefined;
    }, 250).catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
    t.diagnostic(`drain: ${drained} after ${Date.now() - started} ms`);

    const pairs = await this.#options.inspector.pairs(this.ns);
    const stored = await this.#options.inspector.counts(this.ns);
    const rows = new Map<string, number>();
    for (const pair of pairs) {
      const postId = pair.slice(0, pair.indexOf('/'));
      rows.set(postId, (rows.get(postId) ?? 0) + 1);
    }
    const table = allPosts.map((id) => ({ id, model: want(id), api: served[id], rows: rows.get(id) ?? 0, counts: stored.get(id) ?? 0 }));
    const wrong = table.filter((r) => r.api !== r.model || r.rows !== r.model || r.counts !== r.model);
    const lost: string[] = [];
    const ghosts: string[] = [];
    const users = this.writer.userIds();
    for (const postId of allPosts) {
      const postUsers = postId === PROBE_POST ? Array.from({ length: this.#probes }, (_, i) => `probe${i}`) : users;
      for (const userId of postUsers) {
        const liked = this.model.liked(postId, userId);
        const row = pairs.has(`${postId}/${userId}`);
        if (liked && !row) lost.push(`${postId}/${userId}`);
        if (!liked && row) ghosts.push(`${postId}/${userId}`);
      }
    }
    const report = [
      wrong.length === 0
        ? 'every post agrees'
        : `${wrong.length} posts disagree (post: model / api / likes rows / stored count):\n${wrong.slice(0, 40).map((r) => `  ${r.id}: ${r.model} / ${String(r.api)} / ${r.rows} / ${r.counts}`).join('\n')}`,
      `acknowledged likes without a row (${lost.length}): ${lost.slice(0, 20).join(' ')}`,
      `rows the model does not have (${ghosts.length}): ${ghosts.slice(0, 20).join(' ')}`,
      `stage logs: ${this.logDir}`,
    ].join('\n');
    if (lost.length > 0 || ghosts.length > 0 || wrong.length > 0) {
      assert.fail(`every acknowledged like and unlike is in the likes store, and API count == model == rows == stored count for every post:\n${report}`);
    }
    assert.equal(drained, 'equal', "the API serves the model's counts");
    t.diagnostic(`${allPosts.length} posts, ${[...expected.values()].reduce((a, b) => a + b, 0)} likes, ${this.writer.acknowledgedEvents} acknowledged events, lost 0: API, model, rows and counts agree`);
  }
}

export function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/** The pid `./tally services status <name>` reports for a running server. */
export async function servicePid(name: string): Promise<number> {
  const { stdout } = await run('./tally', ['services', 'status', name], { cwd: REPO_ROOT });
  const match = /pids? (\d+)/.exec(stdout);
  if (match === null) throw new Error(`no pid for ${name} in: ${stdout}`);
  return Number(match[1]);
}

/** Runs `./tally services <args>` from the repository root. */
export async function services(...args: string[]): Promise<void> {
  await run('./tally', ['services', ...args], { cwd: REPO_ROOT, timeout: 300_000 });
}
