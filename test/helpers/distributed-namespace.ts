import { dropNamespace } from '../../src/composition/drop-namespace.ts';
import { loadOptions } from '../../src/config/options.ts';
import type { StoreName } from '../../src/config/store-names.ts';
import { uniqueName } from './wait.ts';

/** The servers `./tally services up` starts, unless the environment names others. */
export const SERVERS = {
  brokers: process.env.TALLY_KAFKA_BROKERS ?? '127.0.0.1:9092',
  postgresUrl: process.env.TALLY_POSTGRES_URL ?? 'postgres://tally:tally@127.0.0.1:5432/tally',
  redisUrl: process.env.TALLY_REDIS_URL ?? 'redis://127.0.0.1:6379',
} as const;

/** The connection flags every distributed process of a test gets, for namespace `ns`. */
export function serverFlags(namespace: string): string[] {
  return ['--namespace', namespace, '--kafka-brokers', SERVERS.brokers, '--postgres-url', SERVERS.postgresUrl, '--redis-url', SERVERS.redisUrl];
}

/** A fresh namespace (`t_<random>`) for one test file's Tally: topics, schema, slot and keys of its own. */
export function distributedNamespace(): string {
  return uniqueName('t');
}

/** Removes everything a distributed Tally created under `namespace` (see `./tally namespace drop`). Stop the processes first. */
export async function dropDistributedNamespace(namespace: string, store: StoreName = 'postgres', brokers: string = SERVERS.brokers): Promise<void> {
  await dropNamespace({ ...loadOptions(new Map(), {}), namespace, store, kafkaBrokers: brokers, postgresUrl: SERVERS.postgresUrl, redisUrl: SERVERS.redisUrl });
}
