import { createDynamoClient, type DynamoSettings } from '../../../src/adapters/dynamodb/dynamo-client.ts';
import { dropDynamoTables, ensureDynamoTables } from '../../../src/adapters/dynamodb/dynamo-tables.ts';
import type { Lifecycle } from '../../../src/ports/lifecycle.ts';
import { TrackedAdapters } from '../../helpers/tracked-adapters.ts';
import { uniqueName } from '../../helpers/wait.ts';

/** The emulator `./tally services up dynamodb` starts, unless the environment names another endpoint. */
export const DYNAMODB_ENDPOINT = process.env.TALLY_DYNAMODB_ENDPOINT ?? 'http://127.0.0.1:8000';

/** A namespace with its tables created; `cleanup` closes what was tracked, then deletes the tables. */
export interface DynamoNamespace {
  readonly namespace: string;
  readonly settings: DynamoSettings;
  track<T extends Lifecycle>(adapter: T): T;
  cleanup(): Promise<void>;
}

export async function freshDynamoNamespace(): Promise<DynamoNamespace> {
  const namespace = uniqueName('d');
  const settings: DynamoSettings = { endpoint: DYNAMODB_ENDPOINT, namespace };
  const client = createDynamoClient(settings);
  await ensureDynamoTables(client, settings, true);
  const tracked = new TrackedAdapters();
  return {
    namespace,
    settings,
    track: (adapter) => tracked.track(adapter),
    async cleanup() {
      await tracked.closeAll();
      await dropDynamoTables(client, settings).catch(() => undefined);
      client.destroy();
    },
  };
}
