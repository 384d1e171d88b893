import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import type { ProgressProbes } from '../../../src/ports/progress-probes.ts';
import { PollingProgress } from '../../../src/stages/progress/polling-progress.ts';

// Issue 11, bug 5: a failed lag refresh was swallowed without a log line, so back-pressure acted
// on a stale value silently.
test('failed lag refreshes are logged, at most once per interval, and the last lag is kept', async () => {
  const lines: { msg: string; failures: number; lag: number }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { msg: string; failures: number; lag: number });
      done();
    },
  });
  let failing = false;
  const probes: ProgressProbes = {
    ingestCommitted: async () => [{ partition: 0, offset: 10 }],
    logEnds: async () => {
      if (failing) throw new Error('broker unreachable');
      return [{ partition: 0, offset: 25 }];
    },
    sourceMark: async () => '0',
    relayConfirmed: async () => '0',
    feedEnds: async () => [],
    counterApplied: async () => [],
  };
  const progress = new PollingProgress(probes, { pollMs: 5, lagRefreshMs: 10, failureLogMs: 200 }, pino({ level: 'warn' }, sink));
  progress.start();
  try {
    await sleep(50);
    assert.equal(progress.ingestLag(), 15);
    failing = true;
    await sleep(300);
    assert.equal(progress.ingestLag(), 15, 'the last known lag stays');
    const warnings = lines.filter((l) => /could not refresh the ingest lag/.test(l.msg));
    assert.ok(warnings.length >= 1 && warnings.length <= 2, `${warnings.length} warnings in 300 ms with one allowed per 200 ms`);
    assert.equal(warnings[0]?.lag, 15);
  } finally {
    progress.stop();
  }
});

test('where positions count records that bundle events, the lag counts events: records waiting times events per record', async () => {
  const probes: ProgressProbes = {
    ingestCommitted: async () => [{ partition: 0, offset: 10 }, { partition: 1, offset: 4 }],
    logEnds: async () => [{ partition: 0, offset: 25 }, { partition: 1, offset: 4 }],
    sourceMark: async () => '0',
    relayConfirmed: async () => '0',
    feedEnds: async () => [{ partition: 0, offset: 8 }],
    counterApplied: async () => [{ partition: 0, offset: 6 }],
  };
  let per = { log: 250, feed: 40 };
  const progress = new PollingProgress(probes, { pollMs: 5, lagRefreshMs: 10, perPosition: () => per }, pino({ level: 'silent' }));
  progress.start();
  try {
    await sleep(50);
    assert.equal(progress.ingestLag(), 15 * 250, '15 records of 250 events');
    const [ingest, counter] = progress.stageTotals();
    assert.equal(ingest?.perPosition, 250);
    assert.equal(counter?.perPosition, 40);
    per = { log: 1, feed: 1 };
    await sleep(50);
    assert.equal(progress.ingestLag(), 15, 'one event per record: the offsets themselves');
  } finally {
    progress.stop();
  }
});
