import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startEmbedded } from '../../../helpers/embedded-app.ts';
import { openBrowser } from '../../../helpers/headless-chromium.ts';
import { REPO_ROOT } from '../../../helpers/server-process.ts';

/** Where a person finds the screenshot: test-output/ at the repository root (git-ignored). */
const OUTPUT = join(REPO_ROOT, 'test-output');

interface Shown {
  watched: string;
  count: string;
  accepted: string;
  applied: string;
  top: string;
  lag: string;
  external: string[];
}

test('the dashboard in headless Chromium: the watched count and the throughput move as likes arrive', { timeout: 60_000 }, async (t) => {
  const { app } = await startEmbedded(t, { streamIntervalMs: 50 });
  const url = app.url ?? '';
  const page = await openBrowser();
  t.after(() => page.close());
  await page.send('Page.enable');
  await page.send('Page.navigate', { url: `${url}/dashboard?watch=dash1` });
  const shown = (): Promise<Shown> =>
    page.evaluate<Shown>(`(() => {
      const text = (id) => document.getElementById(id)?.textContent ?? '';
      const external = [...document.querySelectorAll('script[src], link[href], img[src]')].map((e) => e.src || e.href).filter((u) => !u.startsWith(location.origin));
      return { watched: text('watch-post'), count: text('watch-count'), accepted: text('accepted-rate'), applied: text('applied-rate'), top: text('top'), lag: text('lag'), external };
    })()`);
  const until = async (what: string, check: (s: Shown) => boolean, ms = 20_000): Promise<Shown> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = await shown().catch(() => undefined);
      if (s !== undefined && check(s)) return s;
      assert.ok(Date.now() < deadline, `${what}; the page shows ${JSON.stringify(s)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const before = await until('the watched post shows its count 0', (s) => s.watched === 'dash1' && s.count === '0');
  assert.deepEqual(before.external, [], 'nothing is loaded from another origin');

  // Likes arrive for two seconds or more: 40 rounds, each a few likes of dash1 and one of another post.
  let liked = 0;
  const sending = (async () => {
    for (let round = 0; round < 40; round++) {
      const events = Array.from({ length: 5 }, (_, i) => ({ op: 'like', postId: 'dash1', userId: `u${round}-${i}` }));
      events.push({ op: 'like', postId: 'dash2', userId: `u${round}` });
      const response = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
      assert.equal(response.status, 202);
      liked += 5;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const moving = await until('throughput shows likes/s above 0 and the watched count moves', (s) => Number(s.accepted.replace(/,/g, '')) > 0 && Number(s.count.replace(/,/g, '')) > 0);
  await sending;
  const after = await until(`the watched count reaches ${liked}`, (s) => s.count.replace(/,/g, '') === String(liked) && s.top.includes('dash1'));
  t.diagnostic(`while likes arrived: accepted ${moving.accepted}/s, applied ${moving.applied}/s, watched count ${moving.count}; at the end: ${after.count}`);
  assert.match(after.lag, /ingest/);

  const shot = await page.send<{ data: string }>('Page.captureScreenshot', { format: 'png' });
  mkdirSync(OUTPUT, { recursive: true });
  const file = join(OUTPUT, 'dashboard.png');
  writeFileSync(file, Buffer.from(shot.data, 'base64'));
  t.diagnostic(`screenshot of the dashboard: ${file}`);
});
