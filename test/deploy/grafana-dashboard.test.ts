import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { startEmbedded } from '../helpers/embedded-app.ts';

test('the Grafana dashboard only queries metrics that /metrics serves', async (t) => {
  const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/tally.json', import.meta.url), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
  const { app } = await startEmbedded(t);
  await fetch(`${app.url ?? ''}/v1/posts/g1/likes/u1?wait=applied`, { method: 'PUT' });
  const served = new Set([...(await (await fetch(`${app.url ?? ''}/metrics`)).text()).matchAll(/^# TYPE (\w+) (\w+)$/gm)].flatMap((m) => (m[2] === 'histogram' ? [`${m[1]}_bucket`] : [m[1] ?? ''])));
  for (const panel of dashboard.panels) {
    for (const { expr } of panel.targets) {
      for (const [name] of expr.matchAll(/tally_\w+/g)) assert.ok(served.has(name), `${name} (in "${expr}") is on /metrics`);
    }
  }
});
