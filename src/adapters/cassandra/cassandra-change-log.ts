import type { Change } from '../../domain/change.ts';
import type { CqlSession, CqlStatement } from './cassandra-client.ts';
import { num, str } from './cassandra-client.ts';
import type { CassandraNames } from './cassandra-schema.ts';

/**
 * The change log: one row per change that really happened, keyed by the log partition of its post
 * (`cdc$stream_id`, which is also its change-feed partition) and its place in that partition
 * (`cdc$time` = the log offset of the event, `cdc$batch_seq_no` ordering recounts before the
 * delta of that offset). Keys are deterministic, so writing a change twice writes one row.
 */

/** `cdc$batch_seq_no` of a delta: after every recount taken at the same offset. */
export const DELTA_SEQ = 2_147_483_647;
/** Offsets per change-log partition: (stream, floor(offset / BUCKET_SPAN)). */
export const BUCKET_SPAN = 65_536;

const OP_INSERT = 1;
const OP_DELETE = 2;
/** A recount row (ScyllaDB's CDC has no such operation; it is ours). */
const OP_RECOUNT = 9;

/** A place in one stream: `time` is a log offset, `seq` orders recounts before that offset's delta. */
export interface LogPlace {
  readonly time: number;
  readonly seq: number;
}

export function comparePlaces(a: LogPlace, b: LogPlace): number {
  return a.time !== b.time ? a.time - b.time : a.seq - b.seq;
}

export const bucketOf = (time: number): number => Math.floor(time / BUCKET_SPAN);

/** The relay's source position of a place: fixed width, sorts like the place. */
export function sourceOf(place: LogPlace): string {
  return `${place.time.toString(16).padStart(14, '0')}${place.seq.toString(16).padStart(8, '0')}`;
}

/** A delta as the likes store keeps it with its partition until it is in the change log. */
export interface LoggedDelta {
  readonly u: string;
  readonly d: 1 | -1;
  /** Log offset of the event that made the change. */
  readonly o: number;
  /** The row's liked_at (the new one for a like, the removed one for an unlike). */
  readonly at: number;
  /**
   * `cdc$batch_seq_no` when not `DELTA_SEQ`: an erasure's deletes all sit at their marker's offset,
   * numbered from `ERASE_SEQ_BASE` (see cassandra-erasures.ts).
   */
  readonly s?: number;
}

/**
 * First `cdc$batch_seq_no` of an erasure's deletes at its marker's offset: after every recount
 * taken there (recounts number from 1), before `DELTA_SEQ`, room for 10^9 deletes per part.
 */
export const ERASE_SEQ_BASE = 1_000_000_000;

export function deltaStatement(n: CassandraNames, stream: number, postId: string, delta: LoggedDelta): CqlStatement {
  return {
    query: `INSERT INTO ${n.changes} ("cdc$stream_id", bucket, "cdc$time", "cdc$batch_seq_no", "cdc$operation", post_id, user_id) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    params: [stream, bucketOf(delta.o), BigInt(delta.o), delta.s ?? DELTA_SEQ, delta.d > 0 ? OP_INSERT : OP_DELETE, postId, delta.u],
  };
}

export function recountStatement(n: CassandraNames, stream: number, place: LogPlace, postId: string, count: number): CqlStatement {
  return {
    query: `INSERT INTO ${n.changes} ("cdc$stream_id", bucket, "cdc$time", "cdc$batch_seq_no", "cdc$operation", post_id, count) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    params: [stream, bucketOf(place.time), BigInt(place.time), place.seq, OP_RECOUNT, postId, BigInt(count)],
  };
}

/** A change read back from the log, with its place. */
export interface LogEntry {
  readonly place: LogPlace;
  readonly change: Change;
}

/** The entries of a stream after `after` and at or before `upTo`, in order, at most `limit`. */
export async function readLog(session: CqlSession, n: CassandraNames, stream: number, after: LogPlace, upTo: LogPlace, limit: number): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  for (let bucket = bucketOf(after.time); bucket <= bucketOf(upTo.time) && entries.length < limit; bucket++) {
    const result = await session.execute(
      `SELECT "cdc$time", "cdc$batch_seq_no", "cdc$operation", post_id, user_id, count FROM ${n.changes}
       WHERE "cdc$stream_id" = ? AND bucket = ? AND ("cdc$time", "cdc$batch_seq_no") > (?, ?) AND ("cdc$time", "cdc$batch_seq_no") <= (?, ?) LIMIT ?`,
      [stream, bucket, BigInt(after.time), after.seq, BigInt(upTo.time), upTo.seq, limit - entries.length],
      // One page holds the whole LIMIT: the driver pages at 5,000 rows, and a short first page
      // would look like the end of the stream (the reader would then skip to its bound).
      { fetchSize: limit - entries.length },
    );
    for (const row of result.rows) {
      const place = { time: num(row.get('cdc$time')), seq: num(row.get('cdc$batch_seq_no')) };
      const postId = str(row.get('post_id')) ?? '';
      const op = num(row.get('cdc$operation'));
      if (op === OP_RECOUNT) {
        entries.push({ place, change: { kind: 'recount', postId, count: num(row.get('count')) } });
      } else {
        entries.push({ place, change: { kind: 'delta', postId, userId: str(row.get('user_id')) ?? '', delta: op === OP_INSERT ? 1 : -1 } });
      }
    }
  }
  return entries;
}
