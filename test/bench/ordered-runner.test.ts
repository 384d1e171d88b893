import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mulberry32 } from '../../bench/prng.ts';
import { runOrdered } from '../../bench/ordered-runner.ts';

test('runs every task, never more than `concurrency` at once, never two tasks `window` apart together', async () => {
  const random = mulberry32(9);
  const running = new Set<number>();
  let peak = 0;
  const done: number[] = [];
  const ran = await runOrdered({
    count: 300,
    concurrency: 8,
    window: 12,
    task: async (i) => {
      for (const other of running) assert.ok(Math.abs(i - other) < 12, `${i} overlaps ${other}`);
      running.add(i);
      peak = Math.max(peak, running.size);
      await sleep(Math.floor(random() * 3));
      running.delete(i);
      done.push(i);
    },
  });
  assert.equal(ran, 300);
  assert.equal(done.length, 300);
  assert.ok(peak <= 8 && peak > 1, `peak ${peak}`);
});

test('a stop condition ends the run with a finished prefix', async () => {
  const done = new Set<number>();
  let started = 0;
  const ran = await runOrdered({
    count: 1000,
    concurrency: 4,
    window: 4,
    shouldStop: () => started >= 50,
    task: async (i) => {
      started++;
      await sleep(1);
      done.add(i);
    },
  });
  assert.equal(ran, 50);
  assert.deepEqual([...done].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
});

test('zero tasks resolve at once; a failing task rejects the run', async () => {
  assert.equal(await runOrdered({ count: 0, concurrency: 2, window: 2, task: async () => undefined }), 0);
  await assert.rejects(
    runOrdered({
      count: 10,
      concurrency: 2,
      window: 2,
      task: async (i) => {
        if (i === 3) throw new Error('boom');
      },
    }),
    /boom/,
  );
});
