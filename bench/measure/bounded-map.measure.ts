/**
 * What a bounded Map costs per insert once full, forgetting one oldest key per insert (a
 * `keys().next()` and a `delete`) against a tenth at once (src/domain/bounded-map.ts), and what
 * moving a key to the back (delete, then set) costs against setting it in place. Not part of
 * `npm test`; BENCHMARKS.md, "Bounded maps":
 *
 *   ./tally node bench/measure/bounded-map.measure.ts [bound=100000] [inserts=1000000]
 */
import { forgetOldest, tenthOf } from '../../src/domain/bounded-map.ts';

const bound = Number(process.argv[2] ?? 100_000);
const inserts = Number(process.argv[3] ?? 1_000_000);

function evictions(mode: 'one at a time' | 'a tenth at once'): number {
  const map = new Map<string, number>();
  const started = performance.now();
  for (let i = 0; i < inserts; i++) {
    map.set(`p${i}`, i);
    if (map.size <= bound) continue;
    if (mode === 'one at a time') {
      const oldest = map.keys().next();
      if (oldest.done !== true) map.delete(oldest.value);
    } else forgetOldest(map, tenthOf(bound));
  }
  return ((performance.now() - started) * 1e6) / inserts;
}

function updates(mode: 'delete then set' | 'set in place'): number {
  const keys = Array.from({ length: bound }, (_, i) => `p${i}`);
  const map = new Map(keys.map((key) => [key, 0]));
  // Skewed like post popularity: most updates hit a few keys.
  let state = 42;
  const started = performance.now();
  for (let i = 0; i < inserts; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const key = keys[Math.floor(bound * (state / 2 ** 31) ** 3)] as string;
    if (mode === 'delete then set') map.delete(key);
    map.set(key, i);
  }
  return ((performance.now() - started) * 1e6) / inserts;
}

for (let round = 1; round <= 2; round++) {
  const line = {
    round,
    bound,
    inserts,
    nsPerInsert: { oneAtATime: Math.round(evictions('one at a time')), aTenthAtOnce: Math.round(evictions('a tenth at once')) },
    nsPerUpdate: { deleteThenSet: Math.round(updates('delete then set')), setInPlace: Math.round(updates('set in place')) },
  };
  console.log(JSON.stringify(line));
}
