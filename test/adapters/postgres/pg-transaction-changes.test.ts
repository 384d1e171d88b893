import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatLsn, parseLsn, sourceOf } from '../../../src/adapters/postgres/pg-lsn.ts';
import { PgTransactionChanges, type PgoutputMessage } from '../../../src/adapters/postgres/pg-transaction-changes.ts';

const likes = { schema: 'ns', name: 'likes' };
const recounts = { schema: 'ns', name: 'recounts' };

test('LSNs parse, format and make fixed-width sources that sort in commit order', () => {
  assert.equal(parseLsn('16/B374D848'), 0x16b374d848n);
  assert.equal(formatLsn(0x16b374d848n), '16/B374D848');
  assert.equal(parseLsn('00000000/00000001'), 1n);
  assert.throws(() => parseLsn('nope'));
  assert.equal(sourceOf(0x16b374d848n, 3), '00000016b374d84800000003');
  const sorted = [sourceOf(0x1_0000_0000n, 0), sourceOf(0xffff_ffffn, 9), sourceOf(0xffff_ffffn, 10), sourceOf(2n, 0xffff)];
  assert.deepEqual([...sorted].sort(), [sourceOf(2n, 0xffff), sourceOf(0xffff_ffffn, 9), sourceOf(0xffff_ffffn, 10), sourceOf(0x1_0000_0000n, 0)]);
});

test('the assembler hands out a transaction only at its commit, and only this namespace\'s likes and recounts', () => {
  const transactions = new PgTransactionChanges('ns');
  const feed = (m: PgoutputMessage) => transactions.push(m);
  assert.equal(feed({ tag: 'begin', commitLsn: '0/100' }), undefined);
  assert.ok(transactions.inTransaction);
  feed({ tag: 'relation' });
  feed({ tag: 'insert', relation: likes, new: { post_id: 'p', shard: 1, user_id: 'u', liked_at: '5' } });
  feed({ tag: 'insert', relation: { schema: 'other', name: 'likes' }, new: { post_id: 'x', user_id: 'y' } });
  feed({ tag: 'delete', relation: likes, key: { post_id: 'p', shard: 2, user_id: 'v' }, old: null });
  feed({ tag: 'insert', relation: recounts, new: { id: '1', post_id: 'p', count: '9007199254740991' } });
  feed({ tag: 'delete', relation: recounts, key: { id: '1' }, old: null });
  feed({ tag: 'update' });
  const committed = feed({ tag: 'commit', commitLsn: '0/100' });
  assert.equal(transactions.inTransaction, false);
  assert.deepEqual(committed, {
    commitLsn: 0x100n,
    changes: [
      { kind: 'delta', postId: 'p', userId: 'u', delta: 1 },
      { kind: 'delta', postId: 'p', userId: 'v', delta: -1 },
      { kind: 'recount', postId: 'p', count: 9007199254740991 },
    ],
  });
  assert.throws(() => feed({ tag: 'insert', relation: likes, new: { post_id: 'p', user_id: 'u' } }), /outside a transaction/);
  feed({ tag: 'begin', commitLsn: '0/200' });
  assert.throws(() => feed({ tag: 'delete', relation: likes, key: null, old: null }), /replica identity/);
});
