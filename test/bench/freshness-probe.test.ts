import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FreshnessProbe } from '../../bench/freshness-probe.ts';

/** A server whose count shows each like `visibleAfterMs` after the like's 202. */
async function lateCounts(visibleAfterMs: number) {
  let likes = 0;
  let likedAt = 0;
  let reads = 0;
  const server = createServer((request, response) => {
    if (request.method === 'PUT') {
      likes++;
      likedAt = performance.now();
      response.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":1}');
      return;
    }
    reads++;
    const count = performance.now() - likedAt >= visibleAfterMs ? likes : likes - 1;
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ postId: 'probe', count }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, reads: () => reads, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

test('the probe measures a late count within 2% and pauses between reads instead of looping on them', async () => {
  const visibleAfterMs = 400;
  const server = await lateCounts(visibleAfterMs);
  const probe = new FreshnessProbe(server.origin, performance.now(), 'probe', 10_000);
  try {
    probe.start('bulk');
    // The second sample: the first includes the client's warm-up between the 202 and its handling.
    while (probe.samples.length < 2) await sleep(20);
    await probe.stop();
    const measured = probe.samples[1]?.ms ?? 0;
    const samples = probe.samples.length;
    // The server times from its 202, the probe from receiving it: a few ms either way.
    assert.ok(measured >= visibleAfterMs - 5, `measured ${measured} ms, earlier than the count could show`);
    assert.ok(measured <= visibleAfterMs * 1.02 + 15, `measured ${measured} ms, more than 2% late`);
    // Pauses of 1 ms up to 50 ms waited, then 2% of the wait: ≈ 130 reads per like until 400 ms.
    // A loop without pauses makes thousands against a local server in that time.
    assert.ok(server.reads() < 250 * samples, `${server.reads()} reads of the count for ${samples} likes visible after ${visibleAfterMs} ms`);
    assert.equal(probe.reads, server.reads() - samples);
  } finally {
    await probe.close();
    await server.close();
  }
});
