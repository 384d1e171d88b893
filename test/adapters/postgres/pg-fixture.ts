import { dropPostgresNamespace, migratePostgres } from '../../../src/adapters/postgres/pg-schema.ts';
import type { Lifecycle } from '../../../src/ports/lifecycle.ts';
import { TrackedAdapters } from '../../helpers/tracked-adapters.ts';
import { uniqueName } from '../../helpers/wait.ts';

/** The PostgreSQL that `./tally services up` starts, unless the environment names another. */
export const PG_URL = process.env.TALLY_POSTGRES_URL ?? 'postgres://tally:tally@127.0.0.1:5432/tally';

/** A migrated namespace of its own; `cleanup` closes what was tracked, then drops slot, publication and schema. */
export interface PgNamespace {
  readonly namespace: string;
  /** Registers an adapter to close (before the drop) at cleanup; returns it. */
  track<T extends Lifecycle>(adapter: T): T;
  cleanup(): Promise<void>;
}

export async function freshNamespace(partitions?: number): Promise<PgNamespace> {
  const namespace = uniqueName('t');
  await migratePostgres({ url: PG_URL, namespace, ...(partitions === undefined ? {} : { partitions }) });
  const tracked = new TrackedAdapters();
  return {
    namespace,
    track: (adapter) => tracked.track(adapter),
    async cleanup() {
      await tracked.closeAll();
      await dropPostgresNamespace({ url: PG_URL, namespace });
    },
  };
}

/** Registers the namespace's cleanup on a test context. */
export async function namespaceFor(t: { after: (fn: () => Promise<void>) => void }, partitions?: number): Promise<PgNamespace> {
  const ns = await freshNamespace(partitions);
  t.after(() => ns.cleanup());
  return ns;
}
