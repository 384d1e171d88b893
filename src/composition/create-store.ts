import type { Options } from '../config/options.ts';
import type { StoreName } from '../config/store-names.ts';
import type { Logger } from '../observability/logger.ts';
import type { DropStore, StoreProfile } from './stores/store-profile.ts';

interface ProfileModule {
  create(options: Options, log: Logger): StoreProfile;
  drop: DropStore;
}

/** Each profile lives in its own module, loaded only when chosen (its client library with it). */
const PROFILES: Record<StoreName, () => Promise<ProfileModule>> = {
  postgres: async () => {
    const m = await import('./stores/postgres-store.ts');
    return { create: m.createPostgresStore, drop: m.dropPostgresStore };
  },
  dynamodb: async () => {
    const m = await import('./stores/dynamodb-store.ts');
    return { create: m.createDynamoStore, drop: m.dropDynamoStore };
  },
  cassandra: async () => {
    const m = await import('./stores/cassandra-store.ts');
    return { create: m.createCassandraStore, drop: m.dropCassandraStore };
  },
};

/** The store profile `options.store` names. */
export async function createStoreProfile(options: Options, log: Logger): Promise<StoreProfile> {
  return (await PROFILES[options.store]()).create(options, log);
}

/** Removes the store's data of `options.namespace` under `options.store`. */
export async function dropStoreNamespace(options: Options): Promise<void> {
  await (await PROFILES[options.store]()).drop(options);
}
