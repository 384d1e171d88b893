import { TallyError } from '../../domain/errors.ts';
import { partitionOf, shardOf } from '../../domain/hash.ts';
import { erasureKind, markerPartitions, type ErasureKind, type ErasureMarker, type ErasureStatus } from '../../domain/erasure.ts';
import type { EraseStepResult, MarkerPlace } from '../../ports/likes-store.ts';
import type { CqlSession } from './cassandra-client.ts';
import { mapLimit, num, str } from './cassandra-client.ts';
import { ERASE_SEQ_BASE } from './cassandra-change-log.ts';
import type { CassandraIngestPositions } from './cassandra-ingest-positions.ts';
import type { CassandraNames } from './cassandra-schema.ts';

/** One row a step deletes: its likes partition (post, shard), user, liked_at, and the `cdc$batch_seq_no` of its -1. */
export interface ErasedRow {
  readonly p: string;
  readonly s: number;
  readonly u: string;
  readonly a: number;
  readonly q: number;
}

/** A step as planned, stored in its part's row before any delete: a redo carries out the same one. */
interface Plan {
  readonly rows: ErasedRow[];
  /** The part's cursor once the step is done. */
  readonly cursor: string;
  /** True when the scan reached the end: the part is complete once these rows are gone. */
  readonly final: boolean;
}

interface Part {
  readonly cursor: string;
  readonly removed: number;
  readonly done: boolean;
  readonly step: number;
  readonly pending: Plan | undefined;
}

/** Layout of the likes the erasures read. */
export interface ErasureLayout {
  /** Shards per post in the likes' partition key. */
  readonly shards: number;
}

/**
 * Deletes a step's rows (each through the likes partition's conditional batch, as an unlike) and
 * writes every one of their -1 changes to the change log, idempotently: called again with the
 * same rows after a crash, it deletes nothing twice and writes the same change-log rows.
 */
export type EraseRows = (stream: number, markerOffset: number, rows: readonly ErasedRow[]) => Promise<void>;

const PART_ATTEMPTS = 20;
const SCAN_READS = 32;

/**
 * The erasures of the Cassandra likes store. Cassandra has no multi-partition transaction, so a
 * step is made exact by planning it before doing it:
 *
 * 1. fence: the partition's ingest position must be the marker's offset (it stays there until the
 *    part is complete, so no ingest applies events of this partition meanwhile and the rows the
 *    scan finds can change only by this erasure);
 * 2. plan: scan from the part's cursor (the user's `likes_by_user` rows, or the post's likes
 *    partitions), keep the rows of this log partition that exist, and store them, with the
 *    cursor after them, in the part's row by a lightweight transaction (`IF step = ? AND pending
 *    = null`): one plan per step, whoever races;
 * 3. do: delete the planned rows and write their -1 changes (see `EraseRows`); redoing it after a
 *    crash is a no-op for what was done;
 * 4. commit: a lightweight transaction (`IF step = ?`) adds the plan's row count to `removed`,
 *    moves the cursor and clears the plan, so the count is added once whoever redoes the step;
 * 5. once the scan reached the end, the ingest position moves past the marker (a lightweight
 *    transaction from the marker's offset), and only then can the relay read the deletes.
 *
 * Every planned row existed when planned and is deleted by this plan only, so the removed count
 * is the plan's size. The deletes' change-log rows sit at the marker's offset, numbered from
 * `ERASE_SEQ_BASE + removed` (fixed by the plan), after any recount taken there.
 */
export class CassandraErasures {
  readonly #names: CassandraNames;
  readonly #db: () => CqlSession;
  readonly #positions: CassandraIngestPositions;
  readonly #layout: ErasureLayout;

  constructor(names: CassandraNames, session: () => CqlSession, positions: CassandraIngestPositions, layout: ErasureLayout) {
    this.#names = names;
    this.#db = session;
    this.#positions = positions;
    this.#layout = layout;
  }

  async step(marker: ErasureMarker, place: MarkerPlace, limit: number, erase: EraseRows): Promise<EraseStepResult> {
    const { partition, offset } = place;
    for (let attempt = 0; attempt < PART_ATTEMPTS; attempt++) {
      const stored = (await this.#positions.read(partition)).next;
      if (stored !== offset) throw conflict(partition, stored, offset);
      const part = await this.#readPart(marker.erasureId, partition);
      if (part === undefined) await this.#accept(marker, markerPartitions(marker, place.partitions));
      if (part?.done === true) {
        await this.#pastMarker(place);
        return { removed: 0, done: true };
      }
      let plan = part?.pending;
      if (plan === undefined) {
        plan = await this.#plan(marker, place, part, limit);
        if (!(await this.#savePlan(marker.erasureId, partition, part, plan))) continue; // another ingest planned this step
      }
      await erase(partition, offset, plan.rows);
      const committed = await this.#db().execute(
        `UPDATE ${this.#names.erasureParts} SET cursor = ?, removed = ?, done = ?, step = ?, pending = null WHERE erasure_id = ? AND partition = ? IF step = ?`,
        [plan.cursor, BigInt((part?.removed ?? 0) + plan.rows.length), plan.final, (part?.step ?? 0) + 1, marker.erasureId, partition, part?.step ?? 0],
      );
      if (!committed.wasApplied()) continue; // another ingest carried out the same plan and committed it
      if (plan.final) await this.#pastMarker(place);
      return { removed: plan.rows.length, done: plan.final };
    }
    throw new TallyError('backend_unavailable', `likes store: erasure ${marker.erasureId} in partition ${partition} kept moving under ${PART_ATTEMPTS} attempts`, { retriable: true });
  }

  /** Records the erasure (an upsert of the same values: idempotent). */
  async accepted(marker: ErasureMarker, partitions: number, partitionsTotal: number): Promise<void> {
    await this.#accept(marker, markerPartitions(marker, partitions), partitionsTotal);
  }

  async status(kind: ErasureKind, target: string): Promise<ErasureStatus | undefined> {
    const db = this.#db();
    const row = (await db.execute(`SELECT erasure_id, accepted_at, partitions_total, parts FROM ${this.#names.erasures} WHERE kind = ? AND target = ? LIMIT 1`, [kind, target])).rows[0];
    if (row === undefined) return undefined;
    const erasureId = str(row.get('erasure_id')) ?? '';
    const parts = (str(row.get('parts')) ?? '').split(',').filter((p) => p !== '').map(Number);
    const rows = (await db.execute(`SELECT removed, done FROM ${this.#names.erasureParts} WHERE erasure_id = ? AND partition IN ?`, [erasureId, parts])).rows;
    const partitionsTotal = num(row.get('partitions_total'));
    const partitionsDone = rows.filter((r) => r.get('done') === true).length;
    return {
      erasureId,
      kind,
      target,
      status: partitionsDone >= partitionsTotal ? 'applied' : 'pending',
      removed: rows.reduce((sum, r) => sum + num(r.get('removed')), 0),
      partitionsDone,
      partitionsTotal,
      acceptedAt: num(row.get('accepted_at')),
    };
  }

  async #accept(marker: ErasureMarker, parts: readonly number[], partitionsTotal = parts.length): Promise<void> {
    await this.#db().execute(`INSERT INTO ${this.#names.erasures} (kind, target, accepted_at, erasure_id, partitions_total, parts) VALUES (?, ?, ?, ?, ?, ?)`, [
      erasureKind(marker),
      marker.target,
      BigInt(marker.at),
      marker.erasureId,
      partitionsTotal,
      parts.join(','),
    ]);
  }

  async #readPart(erasureId: string, partition: number): Promise<Part | undefined> {
    const row = (await this.#db().execute(`SELECT cursor, removed, done, step, pending FROM ${this.#names.erasureParts} WHERE erasure_id = ? AND partition = ?`, [erasureId, partition]))
      .rows[0];
    if (row === undefined) return undefined;
    const pending = str(row.get('pending'));
    return {
      cursor: str(row.get('cursor')) ?? '',
      removed: num(row.get('removed')),
      done: row.get('done') === true,
      step: num(row.get('step')),
      pending: pending === undefined ? undefined : (JSON.parse(pending) as Plan),
    };
  }

  /** Stores the plan unless another ingest stored one (or committed a step) since `part` was read. */
  async #savePlan(erasureId: string, partition: number, part: Part | undefined, plan: Plan): Promise<boolean> {
    const body = JSON.stringify(plan);
    const result =
      part === undefined
        ? await this.#db().execute(`INSERT INTO ${this.#names.erasureParts} (erasure_id, partition, cursor, removed, done, step, pending) VALUES (?, ?, '', 0, false, 0, ?) IF NOT EXISTS`, [
            erasureId,
            partition,
            body,
          ])
        : await this.#db().execute(`UPDATE ${this.#names.erasureParts} SET pending = ? WHERE erasure_id = ? AND partition = ? IF step = ? AND pending = null`, [body, erasureId, partition, part.step]);
    return result.wasApplied();
  }

  /** Moves the partition's ingest position past the marker; another ingest that got there first is a conflict, as for `apply`. */
  async #pastMarker(place: MarkerPlace): Promise<void> {
    if (await this.#positions.advance(place.partition, place.offset, place.offset + 1)) return;
    throw conflict(place.partition, (await this.#positions.read(place.partition)).next, place.offset);
  }

  /** Finds at most `limit` rows of this part from its cursor, that exist. */
  async #plan(marker: ErasureMarker, place: MarkerPlace, part: Part | undefined, limit: number): Promise<Plan> {
    const base = ERASE_SEQ_BASE + (part?.removed ?? 0);
    const cursor = part?.cursor ?? '';
    // The rows of this part: those whose events this store numbers in the marker's partition, their
    // post's (`apply` places a post's changes there: the profile runs with --hot-shards 1, where
    // this is `rowInPartition`). A marker written with sub-shards (S > 1) then has all of a post's
    // rows in the part of the post's own partition, and none in the others.
    const mine = (postId: string): boolean => partitionOf(postId, place.partitions) === place.partition;
    const scan =
      marker.op === 'erase-user' ? await this.#scanUser(marker.target, cursor, limit, mine, place.partitions) : await this.#scanPost(marker.target, cursor, limit, mine);
    const present = marker.op === 'erase-user' ? await this.#present(scan.rows) : scan.rows;
    return { rows: present.map((r, i) => ({ ...r, q: base + i })), cursor: scan.cursor ?? cursor, final: scan.final };
  }

  /**
   * The user's likes of this part after the cursor, in the Likes tab's order (liked_at DESC,
   * post_id ASC): pages of `limit` rows of `likes_by_user` (at most `pages` of them, as the part
   * holds about 1/partitions of them) until `limit` rows of this part are found.
   */
  async #scanUser(userId: string, cursor: string, limit: number, mine: (postId: string) => boolean, pages: number): Promise<Scan> {
    const shard = shardOf(userId, this.#layout.shards);
    const table = this.#names.likesByUser;
    const read = async (where: string, params: unknown[], want: number): Promise<Omit<ErasedRow, 'q'>[]> => {
      const result = await this.#db().execute(`SELECT liked_at, post_id FROM ${table} WHERE user_id = ?${where} LIMIT ?`, [userId, ...params, want], { fetchSize: want });
      return result.rows.map((row) => ({ p: str(row.get('post_id')) ?? '', s: shard, u: userId, a: num(row.get('liked_at')) }));
    };
    const found: Omit<ErasedRow, 'q'>[] = [];
    let at = cursor;
    for (let page = 0; page < pages; page++) {
      let rows: Omit<ErasedRow, 'q'>[];
      if (at === '') rows = await read('', [], limit);
      else {
        const [likedAt, postId] = splitCursor(at);
        rows = await read(' AND liked_at = ? AND post_id > ?', [BigInt(likedAt), postId], limit);
        if (rows.length < limit) rows.push(...(await read(' AND liked_at < ?', [BigInt(likedAt)], limit - rows.length)));
      }
      for (const row of rows) {
        at = `${row.a} ${row.p}`;
        if (!mine(row.p)) continue;
        found.push(row);
        if (found.length >= limit) return { rows: found, final: false, cursor: at };
      }
      if (rows.length < limit) return { rows: found, final: true, cursor: at };
    }
    return { rows: found, final: false, cursor: at };
  }

  /** The post's likes of this part after the cursor, shard by shard, by user id: at most `limit` scanned. */
  async #scanPost(postId: string, cursor: string, limit: number, mine: (postId: string) => boolean): Promise<Scan> {
    const [shardText, after] = cursor === '' ? ['0', ''] : splitCursor(cursor);
    const rows: Omit<ErasedRow, 'q'>[] = [];
    for (let shard = Number(shardText); shard < this.#layout.shards && rows.length < limit; shard++) {
      const from = shard === Number(shardText) ? after : '';
      const want = limit - rows.length;
      const result = await this.#db().execute(
        `SELECT user_id, liked_at FROM ${this.#names.likes} WHERE post_id = ? AND shard = ?${from === '' ? '' : ' AND user_id > ?'} LIMIT ?`,
        from === '' ? [postId, shard, want] : [postId, shard, from, want],
        { fetchSize: want },
      );
      for (const row of result.rows) {
        const userId = str(row.get('user_id'));
        // A partition left with only its static columns reads as one row without a user.
        if (userId !== undefined) rows.push({ p: postId, s: shard, u: userId, a: num(row.get('liked_at')) });
      }
    }
    const last = rows.at(-1);
    return { rows: mine(postId) ? rows : [], final: rows.length < limit, cursor: last === undefined ? undefined : `${last.s} ${last.u}` };
  }

  /** Of the user's rows found in `likes_by_user`, those in `likes` (with their liked_at there). */
  async #present(rows: readonly Omit<ErasedRow, 'q'>[]): Promise<Omit<ErasedRow, 'q'>[]> {
    const found = await mapLimit(rows, SCAN_READS, async (r) => {
      const row = (await this.#db().execute(`SELECT liked_at FROM ${this.#names.likes} WHERE post_id = ? AND shard = ? AND user_id = ?`, [r.p, r.s, r.u])).rows[0];
      return row === undefined ? undefined : { ...r, a: num(row.get('liked_at')) };
    });
    return found.filter((r): r is Omit<ErasedRow, 'q'> => r !== undefined);
  }
}

/** What a scan found: the part's rows, whether it reached the end, and the cursor after what it read. */
interface Scan {
  readonly rows: Omit<ErasedRow, 'q'>[];
  readonly final: boolean;
  readonly cursor: string | undefined;
}

function splitCursor(cursor: string): [string, string] {
  const space = cursor.indexOf(' ');
  return [cursor.slice(0, space), cursor.slice(space + 1)];
}

function conflict(partition: number, actual: number, expected: number): TallyError {
  return new TallyError('position_conflict', `likes store (ingest positions): stored position ${actual} for partition ${partition}, the erasure marker is at ${expected}`, { retriable: true });
}
