import assert from 'node:assert/strict';
import { test } from 'node:test';
import { processCpuSeconds } from '../../bench/proc-cpu.ts';

test('reads the CPU time of a running process, undefined for none', { skip: process.platform !== 'linux' }, () => {
  const start = processCpuSeconds(process.pid);
  assert.ok(start !== undefined && start >= 0);
  // Burn CPU until this process's own accounting (Node's, not /proc) says 100 ms were used: on a
  // loaded machine a fixed wall-clock loop may get little CPU. Bounded by 20 s.
  const used = process.cpuUsage();
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    for (let i = 0; i < 10_000; i++) Math.sqrt(Math.random());
    const spent = process.cpuUsage(used);
    if (spent.user + spent.system >= 100_000) break;
  }
  const end = processCpuSeconds(process.pid) ?? 0;
  assert.ok(end - start >= 0.05, `${start} → ${end}`);
  assert.equal(processCpuSeconds(undefined), undefined);
  assert.equal(processCpuSeconds(2 ** 30), undefined);
});
