import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  UpdateTableCommand,
  type AttributeDefinition,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type KeySchemaElement,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { TallyError } from '../../domain/errors.ts';
import { awsErrorName, describeEndpoint, isNetworkError, withRetry, type DynamoSettings } from './dynamo-client.ts';

/** The tables of one namespace. */
export interface DynamoTableNames {
  /** Likes (`pk` = `<shard>#<postId>`, `sk` = userId), recount markers; its stream is the change capture. */
  readonly likes: string;
  /** Counts (`postId`), with the sequence of the counter batch that last wrote each. */
  readonly counts: string;
  /** Fence positions of ingest and counter, recount locks, the counter's redo batches, erasures and their parts (`kind`, `id`). */
  readonly positions: string;
  /** The stream capture's checkpoint: one state item per namespace (`id`). */
  readonly checkpoints: string;
}

export function dynamoTableNames(namespace: string): DynamoTableNames {
  return { likes: `${namespace}-likes`, counts: `${namespace}-counts`, positions: `${namespace}-positions`, checkpoints: `${namespace}-checkpoints` };
}

/** Every table of a namespace, in creation order. */
export function allTables(names: DynamoTableNames): string[] {
  return [names.likes, names.counts, names.positions, names.checkpoints];
}

/** Local secondary index of the likes table: the likers of a shard of a post, by time. */
export const LIKES_BY_TIME_INDEX = 'by-time';

/**
 * Global secondary index of the likes table: a user's likes by time (the Likes tab). Keyed by `sk`
 * (the user id of a like) and `likedAt`, attributes every like already has, so adding the index to
 * an existing table backfills every like; recount markers have no `likedAt` and stay out of it.
 * Ties within a millisecond are ordered by post id when read (`DynamoLikesStore.likesOf`).
 */
export const LIKES_BY_USER_INDEX = 'by-user';

const S = (name: string): AttributeDefinition => ({ AttributeName: name, AttributeType: 'S' });
const N = (name: string): AttributeDefinition => ({ AttributeName: name, AttributeType: 'N' });
const HASH = (name: string): KeySchemaElement => ({ AttributeName: name, KeyType: 'HASH' });
const RANGE = (name: string): KeySchemaElement => ({ AttributeName: name, KeyType: 'RANGE' });

function definitions(names: DynamoTableNames): CreateTableCommandInput[] {
  return [
    {
      TableName: names.likes,
      AttributeDefinitions: [S('pk'), S('sk'), N('likedAt')],
      KeySchema: [HASH('pk'), RANGE('sk')],
      LocalSecondaryIndexes: [{ IndexName: LIKES_BY_TIME_INDEX, KeySchema: [HASH('pk'), RANGE('likedAt')], Projection: { ProjectionType: 'KEYS_ONLY' } }],
      GlobalSecondaryIndexes: [{ IndexName: LIKES_BY_USER_INDEX, KeySchema: [HASH('sk'), RANGE('likedAt')], Projection: { ProjectionType: 'KEYS_ONLY' } }],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      BillingMode: 'PAY_PER_REQUEST',
    },
    { TableName: names.counts, AttributeDefinitions: [S('postId')], KeySchema: [HASH('postId')], BillingMode: 'PAY_PER_REQUEST' },
    { TableName: names.positions, AttributeDefinitions: [S('kind'), S('id')], KeySchema: [HASH('kind'), RANGE('id')], BillingMode: 'PAY_PER_REQUEST' },
    { TableName: names.checkpoints, AttributeDefinitions: [S('id')], KeySchema: [HASH('id')], BillingMode: 'PAY_PER_REQUEST' },
  ];
}

const keyText = (keys: readonly KeySchemaElement[] | undefined): string => (keys ?? []).map((k) => `${k.AttributeName ?? '?'} ${k.KeyType ?? '?'}`).join(', ');

async function describe(client: DynamoDBClient, endpoint: string, table: string): Promise<TableDescription | undefined> {
  try {
    return (await withRetry(endpoint, () => client.send(new DescribeTableCommand({ TableName: table })), { attempts: 3 })).Table;
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/** A start-up error that names the option, the endpoint and what to do. */
function unreachable(settings: DynamoSettings, error: unknown): TallyError {
  const why = error instanceof Error ? error.message : String(error);
  return new TallyError(
    'backend_unavailable',
    `--dynamodb-endpoint ${describeEndpoint(settings.endpoint)} (TALLY_DYNAMODB_ENDPOINT) is unreachable (${why}); start the emulator with ./tally services up dynamodb, or point --dynamodb-endpoint at a reachable DynamoDB (empty for AWS, with AWS_REGION and credentials set)`,
    { cause: error, retriable: true },
  );
}

/**
 * Checks the namespace's tables and creates the missing ones (on-demand billing, a stream with new
 * and old images on the likes table) unless `create` is false. A table with another key schema, a
 * likes table without its stream, or a missing table with `create` false stops start-up with a
 * message saying what to do.
 */
export async function ensureDynamoTables(client: DynamoDBClient, settings: DynamoSettings, create: boolean): Promise<void> {
  const names = dynamoTableNames(settings.namespace);
  for (const definition of definitions(names)) {
    const table = definition.TableName ?? '';
    let found: TableDescription | undefined;
    try {
      found = await describe(client, settings.endpoint, table);
    } catch (error) {
      if (isNetworkError(error) || (error instanceof TallyError && error.code === 'backend_unavailable')) throw unreachable(settings, error);
      throw error;
    }
    if (found === undefined) {
      if (!create) {
        throw new TallyError('invalid_option', `DynamoDB table ${table} does not exist at ${describeEndpoint(settings.endpoint)}; run ./tally dynamodb init, or start with --dynamodb-create-tables true (TALLY_DYNAMODB_CREATE_TABLES)`);
      }
      try {
        await withRetry(settings.endpoint, () => client.send(new CreateTableCommand(definition)), { attempts: 3 });
      } catch (error) {
        if (awsErrorName(error) !== 'ResourceInUseException') throw error; // another process created it meanwhile
      }
      found = await waitActive(client, settings.endpoint, table);
    }
    checkSchema(found, definition, settings);
    await ensureGlobalIndexes(client, settings, found, definition, create);
  }
}

/**
 * Adds the global secondary indexes a table from an older Tally lacks (UpdateTable), one at a time
 * as DynamoDB requires, and waits until the table is ACTIVE again; DynamoDB then backfills the
 * index in the background. With `create` false a missing index stops start-up.
 */
async function ensureGlobalIndexes(client: DynamoDBClient, settings: DynamoSettings, found: TableDescription, wanted: CreateTableCommandInput, create: boolean): Promise<void> {
  const table = wanted.TableName ?? '';
  for (const index of wanted.GlobalSecondaryIndexes ?? []) {
    const name = index.IndexName ?? '';
    if ((found.GlobalSecondaryIndexes ?? []).some((i) => i.IndexName === name)) continue;
    if (!create) {
      throw new TallyError(
        'invalid_option',
        `DynamoDB table ${table} at ${describeEndpoint(settings.endpoint)} has no global secondary index ${name} (added by a newer Tally); run ./tally dynamodb init, or start with --dynamodb-create-tables true (TALLY_DYNAMODB_CREATE_TABLES)`,
      );
    }
    try {
      await withRetry(
        settings.endpoint,
        () =>
          client.send(
            new UpdateTableCommand({
              TableName: table,
              AttributeDefinitions: wanted.AttributeDefinitions,
              GlobalSecondaryIndexUpdates: [{ Create: { IndexName: name, KeySchema: index.KeySchema, Projection: index.Projection } }],
            }),
          ),
        { attempts: 3 },
      );
    } catch (error) {
      // Another process added it meanwhile (or is adding it): fine if the table now has it.
      const again = await describe(client, settings.endpoint, table);
      if (!(again?.GlobalSecondaryIndexes ?? []).some((i) => i.IndexName === name)) throw error;
    }
    found = await waitActive(client, settings.endpoint, table);
  }
}

function checkSchema(found: TableDescription, wanted: CreateTableCommandInput, settings: DynamoSettings): void {
  const table = wanted.TableName ?? '';
  if (keyText(found.KeySchema) !== keyText(wanted.KeySchema)) {
    throw new TallyError(
      'invalid_option',
      `DynamoDB table ${table} at ${describeEndpoint(settings.endpoint)} has key schema (${keyText(found.KeySchema)}), Tally needs (${keyText(wanted.KeySchema)}); it is not Tally's table: pick another --namespace, or delete the table (./tally namespace drop ${settings.namespace} --store dynamodb) and start again`,
    );
  }
  if (wanted.StreamSpecification !== undefined && (found.StreamSpecification?.StreamEnabled !== true || found.StreamSpecification.StreamViewType !== 'NEW_AND_OLD_IMAGES' || found.LatestStreamArn === undefined)) {
    throw new TallyError(
      'invalid_option',
      `DynamoDB table ${table} at ${describeEndpoint(settings.endpoint)} has no stream with NEW_AND_OLD_IMAGES; the change capture needs it: enable it (aws dynamodb update-table --table-name ${table} --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES) or drop the namespace`,
    );
  }
}

async function waitActive(client: DynamoDBClient, endpoint: string, table: string, timeoutMs = 120_000): Promise<TableDescription> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await describe(client, endpoint, table);
    if (found?.TableStatus === 'ACTIVE') return found;
    if (Date.now() > deadline) throw new TallyError('backend_unavailable', `DynamoDB table ${table} is not ACTIVE after ${timeoutMs} ms`, { retriable: true });
    await sleep(200);
  }
}

/** The ARN of the likes table's current stream. */
export async function likesStreamArn(client: DynamoDBClient, settings: DynamoSettings): Promise<string> {
  const table = dynamoTableNames(settings.namespace).likes;
  const found = await describe(client, settings.endpoint, table);
  const arn = found?.LatestStreamArn;
  if (arn === undefined) throw new TallyError('invalid_option', `DynamoDB table ${table} at ${describeEndpoint(settings.endpoint)} has no stream; run ./tally dynamodb init`);
  return arn;
}

/** Deletes the namespace's tables (absent ones are skipped). */
export async function dropDynamoTables(client: DynamoDBClient, settings: DynamoSettings): Promise<void> {
  for (const table of allTables(dynamoTableNames(settings.namespace))) {
    try {
      await withRetry(settings.endpoint, () => client.send(new DeleteTableCommand({ TableName: table })), { attempts: 3 });
    } catch (error) {
      if (awsErrorName(error) !== 'ResourceNotFoundException') throw error;
    }
  }
}
