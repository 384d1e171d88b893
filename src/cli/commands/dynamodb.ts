import type { Options } from '../../config/options.ts';
import { TallyError } from '../../domain/errors.ts';

/** `tally dynamodb init`: creates the DynamoDB tables of `--namespace` when absent. */
export async function runDynamodb(options: Options, words: readonly string[]): Promise<void> {
  if (words[0] !== 'init') throw new TallyError('invalid_option', 'usage: ./tally dynamodb init [--namespace NS] [--dynamodb-endpoint URL]; it creates the tables of --store dynamodb when absent');
  const { initDynamoTables } = await import('../../composition/stores/dynamodb-store.ts');
  const tables = await initDynamoTables(options);
  process.stdout.write(`tally: DynamoDB tables ready at ${options.dynamodbEndpoint === '' ? 'AWS' : options.dynamodbEndpoint}: ${tables.join(', ')}\n`);
}
