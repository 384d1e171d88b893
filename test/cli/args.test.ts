import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommandLine, UsageError } from '../../src/cli/args.ts';
import { loadOptions, optionFlags } from '../../src/config/options.ts';

const HELP = './tally --help lists the options';
const parse = (argv: string[], max = 0) => parseCommandLine(argv, { ...optionFlags(), help: 'boolean' }, max, HELP);

test('parses --flag value, --flag=value and bare switches', () => {
  const parsed = parse(['--port', '9000', '--data=/tmp/x', '--distributed', '--log-level', 'warn']);
  assert.deepEqual(Object.fromEntries(parsed.flags), { port: '9000', data: '/tmp/x', distributed: 'true', 'log-level': 'warn' });
});

// Regression (issues 11 and 13): the hand-written parser treated these as bare switches and
// dropped the value, so `./tally serve --pipeline-thread false` kept the worker thread on.
test('a value given to a boolean flag is honoured, in both spellings', () => {
  for (const argv of [['--pipeline-thread', 'false', '--distributed', 'false'], ['--pipeline-thread=false', '--distributed=false']]) {
    const options = loadOptions(parse(argv).flags, {});
    assert.equal(options.pipelineThread, false, argv.join(' '));
    assert.equal(options.distributed, false, argv.join(' '));
  }
  assert.equal(loadOptions(parse(['--pipeline-thread', '--port', '1']).flags, {}).pipelineThread, true);
  assert.equal(loadOptions(parse(['--distributed', 'true']).flags, {}).distributed, true);
});

test('an unknown flag, a missing value or a stray argument is refused with a message naming it', () => {
  const refused = (argv: string[], message: RegExp) =>
    assert.throws(() => parse(argv), (e: unknown) => e instanceof UsageError && message.test(e.message) && e.message.includes(HELP), argv.join(' '));
  refused(['--prot', '1'], /unknown option --prot/);
  refused(['--port'], /--port needs a value/);
  refused(['--batch-wait-ms', '-1'], /--batch-wait-ms is followed by a value starting with "-"; write it as --batch-wait-ms=<value>/);
  refused(['--port', '1', 'stray'], /unexpected argument "stray"/);
  refused(['--distributed', 'maybe'], /unexpected argument "maybe"/);
});

test('a command may take a bounded number of words', () => {
  assert.deepEqual(parse(['drop', 'ns1', '--store', 'postgres'], 2).positionals, ['drop', 'ns1']);
  assert.throws(() => parse(['drop', 'ns1', 'ns2'], 2), /unexpected argument "ns2"/);
});
