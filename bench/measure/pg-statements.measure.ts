/**
 * What planning costs the PostgreSQL likes store's short statements (not part of `npm test`;
 * BENCHMARKS.md, "PostgreSQL: prepared statements"):
 *
 *   ./tally node bench/measure/pg-statements.measure.ts [seconds=5] [callers=16]
 *
 * Fills a fresh namespace with 200,000 likes over 10,000 posts (PgLikesStore.apply), then asks for a
 * viewer's liked flags among 50 posts (the statement `GET /v1/counts?viewer=` runs) for `seconds`,
 * from `callers` concurrent callers over 8 connections, twice in turn:
 * - `unnamed`: the text and parameters as an unnamed statement, parsed and planned on every call
 *   (what the adapters did before `statement()` in src/adapters/postgres/pg-client.ts);
 * - `prepared`: through PgLikesStore.likedPosts, a named statement each connection prepares once.
 * Prints calls/s and the CPU seconds every `postgres` process used per 1,000 calls (from /proc: the
 * server's side, which the planning is).
 */
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { PgLikesStore } from '../../src/adapters/postgres/pg-likes-store.ts';
import { pgNames } from '../../src/adapters/postgres/pg-schema.ts';
import { shardOf } from '../../src/domain/hash.ts';
import type { LikeEvent } from '../../src/domain/like-event.ts';
import { mulberry32 } from '../prng.ts';
import { freshNamespace, PG_URL } from './measure-kit.ts';

const seconds = Number(process.argv[2] ?? 5);
const callers = Number(process.argv[3] ?? 16);
const SHARDS = 16;
const POSTS = 10_000;
const USERS = 20_000;

/** CPU seconds of every process whose command line starts with `postgres` (the server and its backends). */
function postgresCpuSeconds(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('postgres')) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended meanwhile.
    }
  }
  return ticks / 100;
}

const random = mulberry32(42);
const postIds = (): string[] => [...new Set(Array.from({ length: 50 }, () => `p${Math.floor(random() * POSTS)}`))];
const userId = (): string => `u${Math.floor(random() * USERS)}`;

async function run(name: string, call: (user: string, posts: string[]) => Promise<unknown>): Promise<void> {
  const cpuBefore = postgresCpuSeconds();
  const until = performance.now() + seconds * 1000;
  let calls = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < until) {
        await call(userId(), postIds());
        calls++;
      }
    }),
  );
  const cpu = postgresCpuSeconds() - cpuBefore;
  console.log(`${name}: ${Math.round(calls / seconds)} calls/s, PostgreSQL CPU ${((cpu * 1000) / calls).toFixed(3)} s per 1,000 calls`);
}

const ns = await freshNamespace();
const raw = new pg.Pool({ connectionString: PG_URL, max: 8 });
try {
  const likes = ns.track(new PgLikesStore({ url: PG_URL, namespace: ns.namespace, shards: SHARDS, maxConnections: 8 }));
  await likes.init();
  for (let b = 0; b < 40; b++) {
    const events: LikeEvent[] = Array.from({ length: 5000 }, (_, i) => ({ op: 'like', postId: `p${Math.floor(random() * POSTS)}`, userId: userId(), at: 1_700_000_000_000 + b * 5000 + i }));
    await likes.apply(events);
  }
  await raw.query(`ANALYZE ${pgNames(ns.namespace).likes}`);
  // The adapter's statement text (pg-likes-store.ts, `liked`).
  const liked = `SELECT post_id FROM ${pgNames(ns.namespace).likes} WHERE user_id = $1 AND shard = $2 AND post_id = ANY($3::text[])`;
  for (let round = 0; round < 2; round++) {
    await run('unnamed', (user, posts) => raw.query(liked, [user, shardOf(user, SHARDS), posts]));
    await run('prepared', (user, posts) => likes.likedPosts(user, posts));
  }
} finally {
  await raw.end();
  await ns.cleanup();
}
