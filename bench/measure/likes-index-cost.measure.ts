/**
 * What the Likes tab's by-user index costs the embedded ingest transaction, on raw SQLite with the
 * likes store's tables and pragmas (not part of `npm test`; BENCHMARKS.md, "Likes tab index cost"):
 *
 *   ./tally node bench/measure/likes-index-cost.measure.ts VARIANT [events=1000000] [batch=20000] [page=16384] [posts=100000] [minRecent=200000] [ratio=16]
 *
 * (`CACHE_KIB` in the environment sets the page cache, default 262144: the store's.)
 *
 * VARIANT:
 * - `none`: no by-user index (the ceiling);
 * - `index`: `likes_by_user (user_id, liked_at DESC, post_id)` on the likes table (what Tally does);
 * - `deferred`: triggers append each inserted or deleted like to an insert-ordered pending table in
 *   the ingest transaction; every 200,000 pending rows they are merged into a `WITHOUT ROWID`
 *   by-user table, sorted by user, 50,000 rows per transaction (the design issue 14's brief proposed);
 * - `levels`: what Tally does now (src/adapters/sqlite/sqlite-user-likes.ts): triggers write each
 *   like and unlike to a small `user_likes_recent` table keyed by user; once it holds `minRecent`
 *   rows and 1/`ratio` of `user_likes`, it is merged into `user_likes` in key order (here in one
 *   transaction; Tally moves a chunk per ingest transaction);
 * - `levels3`: `levels` with a third, smaller level in front: triggers write to `user_likes_fresh`
 *   (keyed by user), which moves whole into `user_likes_recent` in the ingest transaction once it
 *   holds `FRESH_MAX` rows (environment, default 20,000), so a small batch dirties the few leaves
 *   of the fresh level instead of most of the recent level's (tried for the paced phase's small
 *   batches; not faster: BENCHMARKS.md, "Session of 2026-11-30 late morning").
 *
 * The workload is the bench's (bench/workload.ts: `posts` Zipf(1.2) posts, users uniform over 10M,
 * 10% unlikes), applied like SqliteLikesStore.apply does: INSERT OR IGNORE / DELETE per event and one
 * change record per batch. Prints one JSON line: the process's CPU ms (user + system, the figure to
 * compare: wall time follows the machine's load), of which the merges took `mergeCpuMs`, and the
 * latency of 20,000 first-page Likes-tab reads of random users (`index` only).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { generateWorkload } from '../workload.ts';

type Variant = 'none' | 'index' | 'deferred' | 'levels' | 'levels3';
const variant = (process.argv[2] ?? 'index') as Variant;
if (!['none', 'index', 'deferred', 'levels', 'levels3'].includes(variant)) throw new Error(`unknown variant ${variant}: none, index, deferred, levels or levels3`);
const FRESH_MAX = Number(process.env.FRESH_MAX ?? 20_000);
const events = Number(process.argv[3] ?? 1_000_000);
const batch = Number(process.argv[4] ?? 20_000);
const pageSize = Number(process.argv[5] ?? 16384);
const postsN = Number(process.argv[6] ?? 100_000);
const LEVEL_MIN = Number(process.argv[7] ?? 200_000);
const LEVEL_RATIO = Number(process.argv[8] ?? 16);
const MERGE_EVERY = 200_000;
const MERGE_CHUNK = 50_000;

let mergeCpuMs = 0;
const w = generateWorkload({ events, posts: postsN, users: 10_000_000, zipf: 1.2, hotShare: 0, unlikeShare: 0.1, seed: 42, minGap: 8000 });
const dir = mkdtempSync(join(tmpdir(), 'tally-index-cost-'));
const db = new DatabaseSync(join(dir, 'tally.db'));
db.exec(`PRAGMA page_size = ${pageSize}`);
db.exec('PRAGMA journal_mode = WAL');
db.exec('PRAGMA synchronous = NORMAL');
db.exec(`PRAGMA cache_size = -${Number(process.env.CACHE_KIB ?? 262144)}`);
db.exec('PRAGMA temp_store = MEMORY');
db.exec('PRAGMA wal_autocheckpoint = 10000');
db.exec(`
CREATE TABLE likes (post_id TEXT NOT NULL, shard INTEGER NOT NULL, user_id TEXT NOT NULL, liked_at INTEGER NOT NULL, PRIMARY KEY (post_id, shard, user_id)) WITHOUT ROWID;
CREATE INDEX likes_newest_first ON likes (post_id, liked_at DESC, user_id);
CREATE TABLE change_records (seq INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL);
CREATE TABLE user_likes (user_id TEXT NOT NULL, liked_at INTEGER NOT NULL, post_id TEXT NOT NULL, PRIMARY KEY (user_id, liked_at DESC, post_id)) WITHOUT ROWID;
CREATE TABLE user_likes_recent (user_id TEXT NOT NULL, liked_at INTEGER NOT NULL, post_id TEXT NOT NULL, op INTEGER NOT NULL, PRIMARY KEY (user_id, liked_at DESC, post_id)) WITHOUT ROWID;
CREATE TABLE user_likes_fresh (user_id TEXT NOT NULL, liked_at INTEGER NOT NULL, post_id TEXT NOT NULL, op INTEGER NOT NULL, PRIMARY KEY (user_id, liked_at DESC, post_id)) WITHOUT ROWID;
CREATE TABLE user_likes_pending (seq INTEGER PRIMARY KEY, user_id TEXT NOT NULL, liked_at INTEGER NOT NULL, post_id TEXT NOT NULL, op INTEGER NOT NULL);`);
if (variant === 'index') db.exec('CREATE INDEX likes_by_user ON likes (user_id, liked_at DESC, post_id)');
if (variant === 'deferred') {
  db.exec(`
CREATE TRIGGER likes_pending_insert AFTER INSERT ON likes BEGIN INSERT INTO user_likes_pending (user_id, liked_at, post_id, op) VALUES (NEW.user_id, NEW.liked_at, NEW.post_id, 1); END;
CREATE TRIGGER likes_pending_delete AFTER DELETE ON likes BEGIN INSERT INTO user_likes_pending (user_id, liked_at, post_id, op) VALUES (OLD.user_id, OLD.liked_at, OLD.post_id, 0); END;`);
}

if (variant === 'levels') {
  db.exec(`
CREATE TRIGGER likes_recent_insert AFTER INSERT ON likes BEGIN INSERT OR REPLACE INTO user_likes_recent (user_id, liked_at, post_id, op) VALUES (NEW.user_id, NEW.liked_at, NEW.post_id, 1); END;
CREATE TRIGGER likes_recent_delete AFTER DELETE ON likes BEGIN INSERT OR REPLACE INTO user_likes_recent (user_id, liked_at, post_id, op) VALUES (OLD.user_id, OLD.liked_at, OLD.post_id, 0); END;`);
}
if (variant === 'levels3') {
  db.exec(`
CREATE TRIGGER likes_fresh_insert AFTER INSERT ON likes BEGIN INSERT OR REPLACE INTO user_likes_fresh (user_id, liked_at, post_id, op) VALUES (NEW.user_id, NEW.liked_at, NEW.post_id, 1); END;
CREATE TRIGGER likes_fresh_delete AFTER DELETE ON likes BEGIN INSERT OR REPLACE INTO user_likes_fresh (user_id, liked_at, post_id, op) VALUES (OLD.user_id, OLD.liked_at, OLD.post_id, 0); END;`);
}
let freshRows = 0;
const freshToRecent = db.prepare('INSERT OR REPLACE INTO user_likes_recent (user_id, liked_at, post_id, op) SELECT user_id, liked_at, post_id, op FROM user_likes_fresh ORDER BY user_id, liked_at DESC, post_id');
const freshClear = db.prepare('DELETE FROM user_likes_fresh');
let recentRows = 0;
let mainRows = 0;
const levelIns = db.prepare('INSERT OR REPLACE INTO user_likes (user_id, liked_at, post_id) SELECT user_id, liked_at, post_id FROM user_likes_recent WHERE op = 1 ORDER BY user_id, liked_at DESC, post_id');
const levelDel = db.prepare('DELETE FROM user_likes WHERE (user_id, liked_at, post_id) IN (SELECT user_id, liked_at, post_id FROM user_likes_recent WHERE op = 0)');
const levelClear = db.prepare('DELETE FROM user_likes_recent');
function mergeLevels(): void {
  const before = process.cpuUsage();
  db.exec('BEGIN IMMEDIATE');
  mainRows += Number(levelIns.run().changes);
  levelDel.run();
  levelClear.run();
  db.exec('COMMIT');
  recentRows = 0;
  const used = process.cpuUsage(before);
  mergeCpuMs += (used.user + used.system) / 1000;
}

const insert = db.prepare('INSERT OR IGNORE INTO likes (post_id, shard, user_id, liked_at) VALUES (?, ?, ?, ?)');
const remove = db.prepare('DELETE FROM likes WHERE post_id = ? AND shard = ? AND user_id = ?');
const insertChange = db.prepare('INSERT INTO change_records (payload) VALUES (?)');
// The last pending operation of each (user, liked_at, post) decides: operations on one key alternate.
const lastOps = 'SELECT user_id, liked_at, post_id, op, MAX(seq) FROM user_likes_pending WHERE seq <= ?1 GROUP BY user_id, liked_at, post_id';
const mergeInserts = db.prepare(`INSERT OR IGNORE INTO user_likes (user_id, liked_at, post_id) SELECT user_id, liked_at, post_id FROM (${lastOps}) WHERE op = 1 ORDER BY user_id, liked_at DESC, post_id`);
const mergeDeletes = db.prepare(`DELETE FROM user_likes WHERE (user_id, liked_at, post_id) IN (SELECT user_id, liked_at, post_id FROM (${lastOps}) WHERE op = 0)`);
const chunkEnd = db.prepare('SELECT seq FROM user_likes_pending ORDER BY seq LIMIT 1 OFFSET ?');
const dropMerged = db.prepare('DELETE FROM user_likes_pending WHERE seq <= ?');
const pendingCount = db.prepare('SELECT COUNT(*) AS n FROM user_likes_pending');

function merge(): void {
  const before = process.cpuUsage();
  for (;;) {
    db.exec('BEGIN IMMEDIATE');
    const end = chunkEnd.get(MERGE_CHUNK - 1) as { seq: number } | undefined;
    const upTo = end?.seq ?? Number.MAX_SAFE_INTEGER;
    mergeInserts.run(upTo);
    mergeDeletes.run(upTo);
    dropMerged.run(upTo);
    db.exec('COMMIT');
    if (end === undefined) break;
  }
  const used = process.cpuUsage(before);
  mergeCpuMs += (used.user + used.system) / 1000;
}

const cpuBefore = process.cpuUsage();
const started = performance.now();
let at = 1_700_000_000_000;
for (let i = 0; i < events; i += batch) {
  const end = Math.min(events, i + batch);
  const changes: [string, string, number][] = [];
  db.exec('BEGIN IMMEDIATE');
  for (let j = i; j < end; j++) {
    const post = `p${w.post[j]}`;
    const user = `u${w.user[j]}`;
    if (w.op[j] === 1) {
      if (insert.run(post, 0, user, ++at).changes > 0) changes.push([post, user, 1]);
    } else if (remove.run(post, 0, user).changes > 0) changes.push([post, user, -1]);
  }
  insertChange.run(JSON.stringify({ d: changes }));
  if (variant === 'levels3') {
    freshRows += changes.length;
    if (freshRows >= FRESH_MAX) {
      const before = process.cpuUsage();
      freshToRecent.run();
      freshClear.run();
      freshRows = 0;
      const used = process.cpuUsage(before);
      mergeCpuMs += (used.user + used.system) / 1000;
    }
  }
  db.exec('COMMIT');
  recentRows += changes.length;
  if ((variant === 'levels' || variant === 'levels3') && recentRows >= Math.max(LEVEL_MIN, mainRows / LEVEL_RATIO)) mergeLevels();
  if (variant === 'deferred' && (pendingCount.get() as { n: number }).n >= MERGE_EVERY) merge();
}
if (variant === 'deferred') merge();
const wallMs = performance.now() - started;
const used = process.cpuUsage(cpuBefore);

let reads: { p50Us: number; p99Us: number } | undefined;
if (variant === 'index') {
  const firstPage = db.prepare('SELECT post_id, liked_at FROM likes WHERE user_id = ? ORDER BY liked_at DESC, post_id ASC LIMIT ?');
  const times: number[] = [];
  for (let k = 0; k < 20_000; k++) {
    const user = `u${w.user[(k * 7919) % events]}`;
    const t = performance.now();
    firstPage.all(user, 21);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  reads = { p50Us: Math.round((times[10_000] ?? 0) * 1000), p99Us: Math.round((times[19_800] ?? 0) * 1000) };
}
const pages = (db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
console.log(JSON.stringify({ variant, events, batch, pageSize, cpuMs: Math.round((used.user + used.system) / 1000), mergeCpuMs: Math.round(mergeCpuMs), wallMs: Math.round(wallMs), mb: Math.round((pages * pageSize) / 1e6), ...(reads === undefined ? {} : { likesTabRead: reads }) }));
db.close();
rmSync(dir, { recursive: true, force: true });
