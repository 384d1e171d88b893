import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from '../../src/cli/args.ts';

test('parses the command, --flag value, --flag=value and switches', () => {
  const parsed = parseArgs(['serve', '--port', '9000', '--data=/tmp/x', '--distributed', '--log-level', 'warn']);
  assert.equal(parsed.command, 'serve');
  assert.deepEqual(Object.fromEntries(parsed.flags), { port: '9000', data: '/tmp/x', distributed: 'true', 'log-level': 'warn' });
});
