import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Change } from '../../src/domain/change.ts';
import { isTallyError } from '../../src/domain/errors.ts';
import type { LikeEvent } from '../../src/domain/like-event.ts';
import type { CapturedBatch, ChangeCapture } from '../../src/ports/change-capture.ts';
import type { LikesStore } from '../../src/ports/likes-store.ts';

/**
 * A fresh likes store and the change capture of its source. `capture()` makes a new capture over
 * the same source, as a relay process started after another one stopped or died would; `cleanup`
 * closes every capture it made, then drops the store.
 */
export interface ChangeCaptureFixture {
  readonly likes: LikesStore;
  readonly capture: () => ChangeCapture;
  readonly cleanup: () => Promise<void>;
}

/** Captured changes with their sources, and the batches they came in (not yet acknowledged). */
export interface Drained {
  readonly changes: Change[];
  readonly sources: string[];
  readonly batches: CapturedBatch[];
}

/**
 * Polls until `done` holds (or fails after `timeoutMs`), acknowledging each batch when `ack` is
 * set. A poll that fails as retriable makes it do what the cdc stage does: close, init again and
 * go on; what was not acknowledged is then delivered again, so what it gathered since the last
 * acknowledgement is dropped.
 */
export async function drain(capture: ChangeCapture, done: (changes: readonly Change[], sources: readonly string[]) => boolean, options: { maxChanges?: number; timeoutMs?: number; ack?: boolean } = {}): Promise<Drained> {
  const out: Drained = { changes: [], sources: [], batches: [] };
  let acknowledged = 0;
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (!done(out.changes, out.sources)) {
    if (Date.now() > deadline) throw new Error(`capture: condition not met after ${out.changes.length} changes: ${out.changes.map((c, i) => `${describeChange(c)}@${out.sources[i]}`).join(" ")}`);
    let batch: CapturedBatch;
    try {
      batch = await capture.poll(options.maxChanges ?? 10_000, 100);
    } catch (error) {
      if (!(isTallyError(error) && error.retriable)) throw error;
      await reopen(capture, deadline);
      out.changes.splice(acknowledged);
      out.sources.splice(acknowledged);
      continue;
    }
    if (options.ack === true) await batch.ack();
    if (batch.changes.length === 0) continue;
    out.changes.push(...batch.changes);
    out.sources.push(...batch.sources);
    out.batches.push(batch);
    if (options.ack === true) acknowledged = out.changes.length;
  }
  return out;
}

async function reopen(capture: ChangeCapture, deadline: number): Promise<void> {
  await capture.close().catch(() => undefined);
  for (;;) {
    try {
      await capture.init();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/** Acknowledges batches in order. */
export async function ackAll(batches: readonly CapturedBatch[]): Promise<void> {
  for (const batch of batches) await batch.ack();
}

/** A change as a short string: `+post/user`, `-post/user`, `=post:count`. */
export const describeChange = (c: Change): string => (c.kind === 'delta' ? `${c.delta > 0 ? '+' : '-'}${c.postId}/${c.userId}` : `=${c.postId}:${c.count}`);

let clock = 1_750_000_000_000;

/**
 * Applies batches to the store and keeps a model of its rows, so the changes the capture must
 * deliver are known: a like of an absent row (+1), an unlike of a present one (-1), nothing else.
 * Each batch holds at most one event per (post, user) pair.
 */
class ModelWriter {
  readonly #likes: LikesStore;
  readonly #rows = new Set<string>();
  readonly expected: string[] = [];

  constructor(likes: LikesStore) {
    this.#likes = likes;
  }

  async apply(events: readonly [op: 'like' | 'unlike', postId: string, userId: string][]): Promise<string[]> {
    const batch: LikeEvent[] = events.map(([op, postId, userId]) => ({ op, postId, userId, at: clock++ }));
    await this.#likes.apply(batch);
    const added: string[] = [];
    for (const { op, postId, userId } of batch) {
      const key = `${postId}/${userId}`;
      if (op === 'like' && !this.#rows.has(key)) {
        this.#rows.add(key);
        added.push(`+${key}`);
      } else if (op === 'unlike' && this.#rows.has(key)) {
        this.#rows.delete(key);
        added.push(`-${key}`);
      }
    }
    this.expected.push(...added);
    return added;
  }

  count(postId: string): number {
    return [...this.#rows].filter((key) => key.startsWith(`${postId}/`)).length;
  }
}

/** Deltas grouped per (post, user) pair, in delivery order. */
function perPair(changes: readonly string[]): Map<string, string[]> {
  const pairs = new Map<string, string[]>();
  for (const change of changes) {
    if (change.startsWith('=')) continue;
    const pair = change.slice(1);
    pairs.set(pair, [...(pairs.get(pair) ?? []), change]);
  }
  return pairs;
}

const sorted = (values: readonly string[]): string[] => [...values].sort();

/** Polls and acknowledges until `count` changes arrived, then checks nothing else is delivered. */
async function relayAll(capture: ChangeCapture, count: number): Promise<Drained> {
  const got = await drain(capture, (c) => c.length >= count, { ack: true });
  await expectNothingMore(capture);
  return got;
}

async function expectNothingMore(capture: ChangeCapture): Promise<void> {
  const extra = await capture.poll(10_000, 500);
  await extra.ack();
  assert.deepEqual(extra.changes.map(describeChange), [], 'nothing beyond the committed changes');
}

/**
 * The contract of the ChangeCapture port (the database side of CDC): every committed row change is
 * delivered once, in commit order per row, with a source position that sorts in commit order (per
 * post: a post's changes all go to one feed partition) and stays the same when a change is
 * delivered again after a crash; acknowledged changes are never delivered again.
 */
export function changeCaptureConformance(label: string, make: () => Promise<ChangeCaptureFixture>): void {
  describe(`ChangeCapture conformance: ${label}`, () => {
    test('every committed change is delivered once, in commit order per row, with sources that grow in that order', async (t) => {
      const { likes, capture: open, cleanup } = await make();
      t.after(cleanup);
      const capture = open();
      await capture.init();
      const writer = new ModelWriter(likes);
      await writer.apply([['like', 'a', 'u1'], ['like', 'a', 'u2'], ['like', 'b', 'u1']]);
      await writer.apply([['like', 'a', 'u1'], ['unlike', 'c', 'u1']]); // no row changes: nothing to deliver
      await writer.apply([['unlike', 'a', 'u1'], ['like', 'c', 'u3']]);
      await writer.apply([['like', 'a', 'u1'], ['unlike', 'b', 'u1']]);
      for (let round = 0; round < 5; round++) {
        await writer.apply(Array.from({ length: 8 }, (_, i) => [round % 2 === 0 ? 'like' : 'unlike', `p${i % 3}`, `v${i}`] as ['like' | 'unlike', string, string]));
      }
      const got = await relayAll(capture, writer.expected.length);
      const delivered = got.changes.map(describeChange);
      assert.deepEqual(sorted(delivered), sorted(writer.expected), 'each committed change once, nothing else');
      assert.deepEqual(perPair(delivered), perPair(writer.expected), 'in commit order per row');
      assert.equal(got.sources.length, got.changes.length, 'a source per change');
      const width = got.sources[0]?.length;
      for (const source of got.sources) assert.equal(source.length, width, `fixed-width sources: ${source}`);
      const lastSource = new Map<string, string>();
      got.changes.forEach((change, i) => {
        const source = got.sources[i] as string;
        const before = lastSource.get(change.postId);
        if (before !== undefined) assert.ok(before < source, `the sources of post ${change.postId} grow: ${before} then ${source}`);
        lastSource.set(change.postId, source);
      });
    });

    test('a recount is delivered at its place: the deltas before it are included in its count', async (t) => {
      const { likes, capture: open, cleanup } = await make();
      t.after(cleanup);
      const capture = open();
      await capture.init();
      const writer = new ModelWriter(likes);
      await writer.apply([['like', 'r', 'u1'], ['like', 'r', 'u2'], ['like', 'r', 'u3']]);
      await writer.apply([['unlike', 'r', 'u2']]);
      // A recount may wait for the relay to pass its place (DynamoDB): relay while it runs.
      const recounted = likes.recount(['r']);
      let settled = false;
      void recounted.finally(() => (settled = true)).catch(() => undefined);
      const got = await drain(capture, (c) => settled && c.some((x) => x.kind === 'recount'), { ack: true });
      assert.deepEqual(await recounted, new Map([['r', 2]]));
      await writer.apply([['like', 'r', 'u4']]);
      got.changes.push(...(await drain(capture, (c) => c.length >= 1, { ack: true })).changes);
      const at = got.changes.findIndex((c) => c.kind === 'recount');
      const recount = got.changes[at];
      assert.ok(recount?.kind === 'recount' && recount.count === 2, `a recount of 2, got ${recount === undefined ? 'none' : describeChange(recount)}`);
      assert.deepEqual(got.changes.slice(at + 1).map(describeChange), ['+r/u4'], 'the later like comes after the recount');
      assert.equal(writer.count('r'), 3);
    });

    test('a capture restarted after an acknowledgement delivers nothing from before it', async (t) => {
      const { likes, capture: open, cleanup } = await make();
      t.after(cleanup);
      const writer = new ModelWriter(likes);
      const first = open();
      await first.init();
      const before = await writer.apply([['like', 'k1', 'u1'], ['like', 'k2', 'u1'], ['like', 'k3', 'u1']]);
      const got = await relayAll(first, before.length);
      assert.deepEqual(sorted(got.changes.map(describeChange)), sorted(before));
      await first.close();

      const after = await writer.apply([['unlike', 'k1', 'u1'], ['like', 'k4', 'u1']]);
      const second = open();
      await second.init();
      const again = await relayAll(second, after.length);
      assert.deepEqual(sorted(again.changes.map(describeChange)), sorted(after), 'only what was committed after the acknowledged changes');
    });

    test('after a crash before the acknowledgement, changes come again with the sources they had: duplicates are known by source', async (t) => {
      const { likes, capture: open, cleanup } = await make();
      t.after(cleanup);
      const writer = new ModelWriter(likes);
      const dead = open();
      await dead.init();
      await writer.apply([['like', 'd1', 'u1'], ['like', 'd2', 'u1'], ['like', 'd3', 'u2']]);
      await writer.apply([['unlike', 'd1', 'u1'], ['like', 'd1', 'u3']]);
      const seen = await drain(dead, (c) => c.length >= writer.expected.length);
      await dead.close(); // "killed": nothing acknowledged

      await writer.apply([['like', 'd4', 'u1']]);
      const next = open();
      await next.init();
      // Delivered again at least once: gather until every committed change is there. Sources are
      // unique per post (per feed partition, which a post never leaves), so duplicates are known
      // by (post, source).
      const keyOf = (change: Change, source: string): string => `${change.postId} ${source}`;
      const keys = (changes: readonly Change[], sources: readonly string[]): Set<string> => new Set(changes.map((c, i) => keyOf(c, sources[i] as string)));
      const again = await drain(next, (changes, sources) => keys(changes, sources).size >= writer.expected.length, { ack: true });
      await expectNothingMore(next);
      const byKey = new Map<string, string>();
      for (const [i, change] of again.changes.entries()) {
        const key = keyOf(change, again.sources[i] as string);
        const known = byKey.get(key);
        assert.ok(known === undefined || known === describeChange(change), `one change per (post, source): ${key} is ${known} and ${describeChange(change)}`);
        byKey.set(key, describeChange(change));
      }
      for (const [i, change] of seen.changes.entries()) {
        const key = keyOf(change, seen.sources[i] as string);
        assert.equal(byKey.get(key), describeChange(change), `${describeChange(change)} is delivered again with its source (${key})`);
      }
      assert.deepEqual(sorted([...byKey.values()]), sorted(writer.expected), 'deduplicated by (post, source): every committed change once');
    });

    test('an idle poll returns an empty batch that can be acknowledged', async (t) => {
      const { capture: open, cleanup } = await make();
      t.after(cleanup);
      const capture = open();
      await capture.init();
      const started = Date.now();
      const batch = await capture.poll(100, 200);
      assert.deepEqual(batch.changes, []);
      assert.deepEqual(batch.sources, []);
      await batch.ack();
      assert.ok(Date.now() - started < 10_000, 'the poll returns after about idleMs');
    });
  });
}
