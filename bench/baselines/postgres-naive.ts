import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { latencyHistogram, recordMs, summarize } from '../histogram.ts';
import { POSTGRES_CONNECTIONS } from '../options.ts';
import { runOrdered } from '../ordered-runner.ts';
import { phaseProgress } from '../progress.ts';
import { expectedCounts, LIKE, postId, userId, type Workload } from '../workload.ts';
import type { BaselineResult } from './baseline-result.ts';

/** Options of {@link postgresNaiveBaseline}. */
export interface PostgresBaselineOptions {
  readonly url: string;
  readonly events: number;
  readonly durationMs: number;
  /** Ordering window in events (the workload's minGap or less). */
  readonly window: number;
  readonly progress: boolean;
}

/**
 * The seed's relational starting point: one transaction per like on 16 connections —
 * INSERT … ON CONFLICT DO NOTHING into likes, then UPDATE counters SET count = count + 1 only when
 * a row was inserted (an unlike deletes, then decrements when a row was deleted). Runs in a
 * throwaway schema, dropped afterwards; stops after `events` events or `durationMs`.
 */
export async function postgresNaiveBaseline(workload: Workload, options: PostgresBaselineOptions): Promise<BaselineResult> {
  const n = Math.min(options.events, workload.post.length);
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: options.url });
  await admin.connect();
  const clients: pg.Client[] = [];
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.query(`CREATE TABLE ${schema}.likes (post_id text NOT NULL, user_id text NOT NULL, PRIMARY KEY (post_id, user_id))`);
    await admin.query(`CREATE TABLE ${schema}.counters (post_id text PRIMARY KEY, count bigint NOT NULL)`);
    const posts = [...expectedCounts(workload, n).keys()].map((p) => postId('p', p));
    await admin.query(`INSERT INTO ${schema}.counters SELECT unnest($1::text[]), 0`, [posts]);
    for (let c = 0; c < POSTGRES_CONNECTIONS; c++) {
      const client = new pg.Client({ connectionString: options.url });
      await client.connect();
      clients.push(client);
    }
    const idle = [...clients];
    const latency = latencyHistogram();
    const bar = phaseProgress(options.progress, 'baseline: PostgreSQL', n, 'events');
    let done = 0;
    const start = performance.now();
    const client = process.cpuUsage();
    const stopAt = start + options.durationMs;
    const sql = {
      insert: { name: 'b-insert', text: `INSERT INTO ${schema}.likes (post_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING` },
      increment: { name: 'b-increment', text: `UPDATE ${schema}.counters SET count = count + 1 WHERE post_id = $1` },
      remove: { name: 'b-delete', text: `DELETE FROM ${schema}.likes WHERE post_id = $1 AND user_id = $2` },
      decrement: { name: 'b-decrement', text: `UPDATE ${schema}.counters SET count = count - 1 WHERE post_id = $1` },
    };
    const ran = await runOrdered({
      count: n,
      concurrency: POSTGRES_CONNECTIONS,
      window: options.window,
      shouldStop: () => performance.now() >= stopAt,
      task: async (i) => {
        const client = idle.pop() as pg.Client;
        const sent = performance.now();
        const post = postId('p', workload.post[i] as number);
        const user = userId(workload.user[i] as number);
        const like = workload.op[i] === LIKE;
        try {
          await client.query('BEGIN');
          const changed = await client.query({ ...(like ? sql.insert : sql.remove), values: [post, user] });
          if (changed.rowCount === 1) await client.query({ ...(like ? sql.increment : sql.decrement), values: [post] });
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        } finally {
          idle.push(client);
        }
        recordMs(latency, performance.now() - sent);
        bar.update(++done);
      },
    });
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(client);
    bar.stop();
    const expected = expectedCounts(workload, ran);
    const rows = await admin.query<{ post_id: string; count: string }>(`SELECT post_id, count FROM ${schema}.counters`);
    const actual = new Map(rows.rows.map((r) => [r.post_id, Number(r.count)]));
    let wrong = 0;
    for (const [post, count] of expected) if ((actual.get(postId('p', post)) ?? 0) !== count) wrong++;
    return {
      perSec: ran / seconds,
      operations: ran,
      seconds,
      correct: wrong === 0,
      clientCores: Math.round(((used.user + used.system) / 1e6 / seconds) * 100) / 100,
      latency: summarize(latency),
      note: `${ran} of the first ${n} events (stops after ${options.durationMs / 1000} s), one transaction per event, ${POSTGRES_CONNECTIONS} connections, prepared statements`,
    };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.end().catch(() => undefined);
  }
}
