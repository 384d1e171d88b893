import { PgChangeCapture } from '../../adapters/postgres/pg-change-capture.ts';
import { PgCounterStore } from '../../adapters/postgres/pg-counter-store.ts';
import { PgLikesStore } from '../../adapters/postgres/pg-likes-store.ts';
import { PgProgressProbe } from '../../adapters/postgres/pg-progress-probe.ts';
import { dropPostgresNamespace, migratePostgres } from '../../adapters/postgres/pg-schema.ts';
import type { Options } from '../../config/options.ts';
import type { StoreProfile } from './store-profile.ts';
import { redactUrl } from './redact.ts';

/**
 * `--store postgres`: the likes (hash-partitioned) and the counters in one PostgreSQL schema per
 * namespace; logical replication (pgoutput) is the change capture.
 */
export function createPostgresStore(options: Options): StoreProfile {
  const pg = { url: options.postgresUrl, namespace: options.namespace };
  const likes = new PgLikesStore({ ...pg, shards: options.likesShards });
  const counters = new PgCounterStore(pg);
  const probe = new PgProgressProbe(pg);
  const adapters = [likes, counters, probe];
  return {
    name: 'postgres',
    likes,
    counters,
    source: probe,
    capture: () => new PgChangeCapture(pg),
    async init() {
      await migratePostgres(pg);
      for (const adapter of adapters) await adapter.init();
    },
    async close() {
      for (const adapter of [...adapters].reverse()) await adapter.close();
    },
    describe: () => `PostgreSQL ${redactUrl(options.postgresUrl)}`,
  };
}

/** Drops the namespace's schema, replication slot and publication. */
export async function dropPostgresStore(options: Options): Promise<void> {
  await dropPostgresNamespace({ url: options.postgresUrl, namespace: options.namespace });
}
