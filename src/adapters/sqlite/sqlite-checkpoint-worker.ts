import { DatabaseSync } from 'node:sqlite';
import { workerData } from 'node:worker_threads';

/**
 * Runs in a worker thread: copies the WAL back into the database file with PASSIVE checkpoints
 * (they never block the writer), so the thread that commits never pays for a checkpoint. The
 * owning connection ends the thread with `terminate()` when it closes.
 */
const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new DatabaseSync(path);
db.exec('PRAGMA busy_timeout = 1000');
setInterval(() => {
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)');
  } catch {
    // A busy database is checkpointed on the next tick.
  }
}, intervalMs);
