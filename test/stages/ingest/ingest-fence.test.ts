import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDatabase } from '../../../src/adapters/sqlite/sqlite-database.ts';
import { SqliteLikesStore } from '../../../src/adapters/sqlite/sqlite-likes-store.ts';
import { ingestFenceConformance } from '../../conformance/ingest-fence.conformance.ts';

// The zombie-ingest regression on the embedded store; test/adapters/<backend>/*-conformance.test.ts
// run the same case on PostgreSQL, DynamoDB and Cassandra.
ingestFenceConformance('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-fence-store-'));
  const db = new SqliteDatabase(dir);
  const likes = new SqliteLikesStore(db, { shards: 4 });
  await likes.init();
  return {
    likes,
    cleanup: async () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
