import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { batchGet, batchWrite, BATCH_WRITE_MAX, transactWrite, TransactionCancelled } from '../../../src/adapters/dynamodb/dynamo-batch.ts';
import { backoffMs, isLocalEndpoint, withRetry } from '../../../src/adapters/dynamodb/dynamo-client.ts';
import { packTransactions } from '../../../src/adapters/dynamodb/transaction-packing.ts';
import { bucketOf } from '../../../src/adapters/dynamodb/dynamo-post-locks.ts';
import { compareSequence, recordToChange } from '../../../src/adapters/dynamodb/stream-records.ts';
import { isTallyError } from '../../../src/domain/errors.ts';

const awsError = (name: string, extra: Record<string, unknown> = {}): Error => Object.assign(new Error(name), { name, ...extra });

/** A client whose `send` answers from a script: each call takes the next answer (an error is thrown). */
function scripted(answers: (object | Error)[]): { client: DynamoDBClient; inputs: unknown[] } {
  const inputs: unknown[] = [];
  const client = {
    send: async (command: { input: unknown }) => {
      inputs.push(structuredClone(command.input));
      const next = answers.shift() ?? {};
      if (next instanceof Error) throw next;
      return next;
    },
  };
  return { client: client as unknown as DynamoDBClient, inputs };
}

test('throttling is retried with jittered backoff; what keeps failing becomes a retriable backend_unavailable', async () => {
  let calls = 0;
  const value = await withRetry('http://x', async () => {
    if (++calls < 3) throw awsError(calls === 1 ? 'ProvisionedThroughputExceededException' : 'ThrottlingException');
    return 'ok';
  }, { baseMs: 1 });
  assert.equal(value, 'ok');
  assert.equal(calls, 3);
  await assert.rejects(
    withRetry('http://x', async () => Promise.reject(awsError('ThrottlingException')), { attempts: 3, baseMs: 1 }),
    (e: unknown) => isTallyError(e) && e.code === 'backend_unavailable' && e.retriable,
  );
  await assert.rejects(withRetry('http://x', async () => Promise.reject(awsError('ValidationException')), { baseMs: 1 }), (e: unknown) => e instanceof Error && e.name === 'ValidationException', 'not retried');
  for (let attempt = 0; attempt < 12; attempt++) {
    const ms = backoffMs(attempt);
    assert.ok(ms >= 0 && ms <= 2000);
  }
});

test('UnprocessedItems and UnprocessedKeys are sent again until done; at most 25 writes a call (AWS refuses more, the emulator takes 26)', async () => {
  const requests = Array.from({ length: 30 }, (_, i) => ({ PutRequest: { Item: { pk: { S: `k${i}` } } } }));
  const { client, inputs } = scripted([
    { UnprocessedItems: { t: requests.slice(0, 3) } }, // first chunk of 25: 3 left over
    {}, // second chunk of 5
    { UnprocessedItems: { t: requests.slice(0, 1) } },
    {},
  ]);
  await batchWrite(client, 'http://x', 't', requests);
  const sizes = inputs.map((input) => ((input as { RequestItems: Record<string, unknown[]> }).RequestItems.t ?? []).length);
  assert.ok(sizes.every((n) => n <= BATCH_WRITE_MAX), `every call at most 25: ${sizes.join(', ')}`);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 30 + 3 + 1, 'every write sent, the unprocessed ones again');

  const keys = Array.from({ length: 4 }, (_, i) => ({ pk: { S: `k${i}` } }));
  const gets = scripted([{ Responses: { t: keys.slice(0, 2) }, UnprocessedKeys: { t: { Keys: keys.slice(2) } } }, { Responses: { t: keys.slice(2) } }]);
  assert.equal((await batchGet(gets.client, 'http://x', 't', keys)).length, 4);
});

test('a transaction cancelled by a conflict is retried; by a failed condition it reports which action failed', async () => {
  const conflict = awsError('TransactionCanceledException', { CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }] });
  const condition = awsError('TransactionCanceledException', { CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }] });
  const ok = scripted([conflict, {}]);
  await transactWrite(ok.client, 'http://x', [{ ConditionCheck: undefined }, { ConditionCheck: undefined }]);
  assert.equal(ok.inputs.length, 2);
  const failed = scripted([condition]);
  await assert.rejects(transactWrite(failed.client, 'http://x', [{}, {}]), (e: unknown) => e instanceof TransactionCancelled && e.reasons[1] === 'ConditionalCheckFailed' && e.onlyConditions);
});

test('stream records: INSERT +1, REMOVE −1, a rewrite nothing, a recount marker a recount; sequence numbers compare as numbers', () => {
  const base = { sequenceNumber: '1', sk: 'u1', count: undefined };
  assert.deepEqual(recordToChange({ ...base, eventName: 'INSERT', pk: '3#p1', hadOld: false, hasNew: true }), { kind: 'delta', postId: 'p1', userId: 'u1', delta: 1 });
  assert.deepEqual(recordToChange({ ...base, eventName: 'REMOVE', pk: '3#p1', hadOld: true, hasNew: false }), { kind: 'delta', postId: 'p1', userId: 'u1', delta: -1 });
  assert.equal(recordToChange({ ...base, eventName: 'MODIFY', pk: '3#p1', hadOld: true, hasNew: true }), undefined);
  assert.deepEqual(recordToChange({ ...base, eventName: 'MODIFY', pk: '#recount#p#1', sk: '#', hadOld: true, hasNew: true, count: 7 }), { kind: 'recount', postId: 'p#1', count: 7 });
  assert.equal(recordToChange({ ...base, eventName: 'REMOVE', pk: '#recount#p1', sk: '#', hadOld: true, hasNew: false }), undefined);
  assert.ok(compareSequence('900', '1000') < 0);
  assert.ok(compareSequence('1100000000017454423010', '1100000000017454423009') > 0);
  assert.equal(compareSequence('42', '42'), 0);
});

test('an apply is cut into transactions of at most 100 actions, counting the holder and lock checks', () => {
  const events = Array.from({ length: 1000 }, (_, i) => ({ op: 'like' as const, postId: `p${i % 300}`, userId: `u${i}`, at: 1 }));
  const groups = packTransactions(events, 3);
  assert.equal(groups.flat().length, 1000);
  for (const group of groups) {
    const buckets = new Set(group.map((e) => bucketOf(e.postId))).size;
    assert.ok(group.length + 3 + buckets <= 100, `${group.length} writes + 3 holder checks + ${buckets} lock checks`);
  }
  assert.ok(groups.length <= 12, `few transactions: ${groups.length}`);
  assert.equal(isLocalEndpoint('http://127.0.0.1:8000'), true);
  assert.equal(isLocalEndpoint(''), false);
  assert.equal(isLocalEndpoint('https://dynamodb.eu-west-1.amazonaws.com'), false);
});
