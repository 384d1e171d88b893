import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OPTION_SPECS, loadOptions, optionFlags, optionsHelp } from '../../src/config/options.ts';
import { TallyError } from '../../src/domain/errors.ts';

test('defaults apply when nothing is given', () => {
  const options = loadOptions(new Map(), {});
  assert.equal(options.port, 8080);
  assert.equal(options.dataDir, './data');
  assert.equal(options.distributed, false);
  assert.equal(options.kafkaInstanceId, '', 'dynamic group membership unless an id is given');
  assert.equal(loadOptions(new Map(), { TALLY_KAFKA_INSTANCE_ID: 'ingest-0' }).kafkaInstanceId, 'ingest-0');
});

test('flags win over the environment, which wins over defaults', () => {
  const options = loadOptions(new Map([['port', '9000']]), { TALLY_PORT: '9001', TALLY_PARTITIONS: '8' });
  assert.equal(options.port, 9000);
  assert.equal(options.partitions, 8);
});

test('a bad value stops start-up naming the option, the value and what is allowed', () => {
  const cases: [Map<string, string>, NodeJS.ProcessEnv, RegExp][] = [
    [new Map([['port', 'abc']]), {}, /--port: "abc" .*integer from 0 to 65535/],
    [new Map(), { TALLY_PARTITIONS: '0' }, /TALLY_PARTITIONS: "0" .*integer from 1 to 1024/],
    [new Map([['log-level', 'loud']]), {}, /--log-level: "loud" .*one of fatal, error/],
    [new Map([['postgres-url', 'mysql://x']]), {}, /--postgres-url: "mysql:\/\/x" .*postgres:\/\//],
    [new Map([['namespace', 'Bad-Name']]), {}, /--namespace: "Bad-Name"/],
    [new Map([['kafka-instance-id', 'pod 1']]), {}, /--kafka-instance-id: "pod 1" .*1 to 249 characters of A-Z a-z 0-9 \. _ -/],
  ];
  for (const [flags, env, message] of cases) {
    assert.throws(() => loadOptions(flags, env), (e: unknown) => e instanceof TallyError && e.code === 'invalid_option' && message.test(e.message));
  }
});

test('boolean options are switches for the parser, and --help documents every option with its default', () => {
  assert.equal(optionFlags()['pipeline-thread'], 'boolean');
  assert.equal(optionFlags().port, 'string');
  const help = optionsHelp();
  for (const spec of Object.values(OPTION_SPECS)) {
    assert.ok(help.includes(`--${spec.flag}`) && help.includes(spec.env), spec.flag);
  }
  assert.match(help, /--kafka-instance-id .*\(default: none\)/, 'an empty default reads as none');
});
