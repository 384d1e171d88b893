import { dropPostgresNamespace, migratePostgres } from '../../src/adapters/postgres/pg-schema.ts';
import type { Lifecycle } from '../../src/ports/lifecycle.ts';

/** The servers `./tally services up` starts, unless the environment names others. */
export const BROKERS = process.env.TALLY_KAFKA_BROKERS ?? '127.0.0.1:9092';
export const PG_URL = process.env.TALLY_POSTGRES_URL ?? 'postgres://tally:tally@127.0.0.1:5432/tally';
export const REDIS_URL = process.env.TALLY_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A name of its own for one measurement's topics, schema or keys. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
}

/** A migrated PostgreSQL namespace; `cleanup` closes what was tracked, then drops it. */
export async function freshNamespace(): Promise<{ namespace: string; track<T extends Lifecycle>(adapter: T): T; cleanup(): Promise<void> }> {
  const namespace = uniqueName('m');
  await migratePostgres({ url: PG_URL, namespace });
  const tracked: Lifecycle[] = [];
  return {
    namespace,
    track(adapter) {
      tracked.push(adapter);
      return adapter;
    },
    async cleanup() {
      for (const adapter of tracked.reverse()) await adapter.close().catch(() => undefined);
      await dropPostgresNamespace({ url: PG_URL, namespace });
    },
  };
}
