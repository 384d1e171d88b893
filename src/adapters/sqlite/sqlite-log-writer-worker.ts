import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';
import type { LogRecordRow, LogWriterReply } from './sqlite-log-writer.ts';

/**
 * Runs in a worker thread (WorkerLogWriter): commits each group of log records it is sent as one
 * transaction with `synchronous = FULL` (the fsync that makes a 2xx durable), in the order sent,
 * and answers `{ id }` or `{ id, error }`. The api thread collects the next group meanwhile.
 */
const { path } = workerData as { path: string };
const db = new DatabaseSync(path);
db.exec('PRAGMA journal_mode = WAL');
db.exec('PRAGMA synchronous = FULL');
db.exec('PRAGMA busy_timeout = 10000');
let insert: StatementSync | undefined;

parentPort?.on('message', ({ id, rows }: { id: number; rows: readonly LogRecordRow[] }) => {
  let reply: LogWriterReply;
  try {
    insert ??= db.prepare('INSERT INTO log_records (partition, base_offset, event_count, payload) VALUES (?, ?, ?, ?)');
    db.exec('BEGIN IMMEDIATE');
    for (const row of rows) insert.run(row.partition, row.base, row.count, row.payload);
    db.exec('COMMIT');
    reply = { id };
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    reply = { id, error: String(error) };
  }
  parentPort?.postMessage(reply);
});
