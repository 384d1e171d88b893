import assert from 'node:assert/strict';
import { test } from 'node:test';
import { processCpuSeconds } from '../../bench/proc-cpu.ts';

test('reads the CPU time of a running process, undefined for none', { skip: process.platform !== 'linux' }, () => {
  const start = processCpuSeconds(process.pid);
  assert.ok(start !== undefined && start >= 0);
  const until = Date.now() + 150;
  while (Date.now() < until) Math.sqrt(Math.random());
  const end = processCpuSeconds(process.pid) ?? 0;
  assert.ok(end - start >= 0.05, `${start} → ${end}`);
  assert.equal(processCpuSeconds(undefined), undefined);
  assert.equal(processCpuSeconds(2 ** 30), undefined);
});
