import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupOf, summarizeProfile, type CpuProfile } from '../../bench/profile-summary.ts';

test('groups: npm packages, node internals, repository folders, V8 pseudo-frames', () => {
  assert.equal(groupOf('file:///w/node_modules/fastify/lib/reply.js', 'send'), 'npm:fastify');
  assert.equal(groupOf('file:///w/node_modules/@fastify/swagger/index.js', 'x'), 'npm:@fastify/swagger');
  assert.equal(groupOf('node:internal/streams/writable', 'write'), 'node:internal/streams');
  assert.equal(groupOf('file:///w/src/adapters/sqlite/sqlite-database.ts', 'transaction'), 'src/adapters/sqlite/sqlite-database.ts');
  assert.equal(groupOf('', '(garbage collector)'), '(garbage collector)');
  assert.equal(groupOf('', 'writeUtf8String'), '(native)');
});

const frame = (functionName: string, url = 'file:///w/src/a.ts') => ({ functionName, url, lineNumber: 0 });

// root → main → (a → a → b), main → c; samples: b 3 ms, a 1 ms (at depth 2), c 2 ms, main 1 ms.
const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', ''), children: [2] },
    { id: 2, callFrame: frame('main'), children: [3, 6] },
    { id: 3, callFrame: frame('a'), children: [4] },
    { id: 4, callFrame: frame('a'), children: [5] },
    { id: 5, callFrame: frame('b') },
    { id: 6, callFrame: frame('c') },
  ],
  samples: [5, 5, 5, 4, 6, 6, 2],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

test('self and inclusive time per function, recursion counted once', () => {
  const { totalMs, rows } = summarizeProfile(PROFILE, (f) => f.functionName);
  const get = (name: string) => rows.find((r) => r.name === name);
  assert.equal(totalMs, 7);
  assert.deepEqual(get('b'), { name: 'b', selfMs: 3, totalMs: 3 });
  assert.deepEqual(get('a'), { name: 'a', selfMs: 1, totalMs: 4 });
  assert.deepEqual(get('main'), { name: 'main', selfMs: 1, totalMs: 7 });
  assert.deepEqual(get('c'), { name: 'c', selfMs: 2, totalMs: 2 });
});

test('a time window keeps only its samples', () => {
  const { totalMs, rows } = summarizeProfile(PROFILE, (f) => f.functionName, 0.0045, 0.0065);
  assert.equal(totalMs, 2);
  assert.equal(rows.find((r) => r.name === 'c')?.selfMs, 2);
  assert.equal(rows.find((r) => r.name === 'b')?.selfMs, 0);
});
