import assert from 'node:assert/strict';
import { isAbsolute } from 'node:path';
import { test } from 'node:test';
import { benchHelp, BenchUsageError, orderingGap, parseBenchOptions } from '../../bench/options.ts';

test('defaults are the full run; --quick shrinks them; explicit flags win', () => {
  const full = parseBenchOptions([]);
  assert.equal(full.events, 1_000_000);
  assert.equal(full.posts, 100_000);
  assert.equal(full.zipf, 1.2);
  assert.equal(full.users, 10_000_000);
  assert.equal(full.target, 'embedded');
  assert.deepEqual([...full.baselines].sort(), ['hello', 'postgres', 'redis']);
  assert.ok(isAbsolute(full.report) && full.report.includes('bench-results/report-'));
  const quick = parseBenchOptions(['--quick', '--events', '5000', '--json']);
  assert.equal(quick.events, 5000);
  assert.equal(quick.posts, 10_000);
  assert.equal(quick.json, true);
  assert.equal(parseBenchOptions(['--zipf=0.8']).zipf, 0.8);
});

test('targets: embedded, distributed, or an http origin', () => {
  assert.equal(parseBenchOptions(['--target', 'distributed']).target, 'distributed');
  assert.equal(parseBenchOptions(['--target', 'http://127.0.0.1:8080/']).target, 'http://127.0.0.1:8080');
  assert.throws(() => parseBenchOptions(['--target', 'ftp://x']), /--target must be embedded, distributed or a URL/);
  assert.throws(() => parseBenchOptions(['--target', 'http://h:1/path']), BenchUsageError);
});

test('baselines: a list, none, or --no-baselines', () => {
  assert.deepEqual([...parseBenchOptions(['--baselines', 'redis,hello']).baselines], ['redis', 'hello']);
  assert.equal(parseBenchOptions(['--baselines', 'none']).baselines.size, 0);
  assert.equal(parseBenchOptions(['--no-baselines']).baselines.size, 0);
  assert.throws(() => parseBenchOptions(['--baselines', 'redis,mysql']), /got "mysql"/);
});

test('bad values name the option, the value and what is allowed', () => {
  assert.throws(() => parseBenchOptions(['--events', 'abc']), /--events must be an integer from 1 to 50000000, got "abc"/);
  assert.throws(() => parseBenchOptions(['--events', '1.5']), /--events must be an integer/);
  assert.throws(() => parseBenchOptions(['--hot-share', '2']), /--hot-share must be a number from 0 to 1, got "2"/);
  assert.throws(() => parseBenchOptions(['--concurrency', '0']), /--concurrency/);
  assert.throws(() => parseBenchOptions(['--frob']), /unknown option --frob.*--help/);
  assert.throws(() => parseBenchOptions(['stray']), BenchUsageError);
});

test('--help documents every option', () => {
  const help = benchHelp();
  for (const flag of ['--events', '--posts', '--users', '--zipf', '--hot-share', '--batch', '--concurrency', '--bulk-concurrency', '--seed', '--duration', '--target', '--json', '--quick', '--report', '--baselines', '--no-baselines', '--profile', '--help']) {
    assert.ok(help.includes(flag), `help lacks ${flag}`);
  }
});

test('the ordering gap covers every window of the load generator', () => {
  assert.equal(orderingGap({ batch: 1000, bulkConcurrency: 4, concurrency: 64 }), 4000);
  assert.equal(orderingGap({ batch: 1, bulkConcurrency: 1, concurrency: 64 }), 64);
  assert.equal(orderingGap({ batch: 1, bulkConcurrency: 1, concurrency: 1 }), 16);
});

test('scale-out: --ingest-procs and --counter-procs, only with --target distributed', () => {
  const scaled = parseBenchOptions(['--target', 'distributed', '--ingest-procs', '2', '--counter-procs', '3']);
  assert.deepEqual([scaled.ingestProcs, scaled.counterProcs], [2, 3]);
  assert.deepEqual([parseBenchOptions([]).ingestProcs, parseBenchOptions([]).counterProcs], [0, 0]);
  assert.throws(() => parseBenchOptions(['--ingest-procs', '2']), /--ingest-procs and --counter-procs need --target distributed/);
  assert.throws(() => parseBenchOptions(['--target', 'distributed', '--counter-procs', '17']), /--counter-procs must be an integer from 0 to 16/);
});
