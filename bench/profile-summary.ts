/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): where the CPU time went, by package or
 * source folder and by function, self and inclusive. Used to write BENCHMARKS.md.
 *
 *   ./tally node bench/profile-summary.ts FILE.cpuprofile [--top N] [--from S] [--to S]
 *
 * `--from`/`--to` keep the samples of one phase: `./tally bench --profile DIR` notes each
 * phase's window in seconds since the server started.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

/** The parts of a `.cpuprofile` this summary reads. */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Time in ms spent in one function or group. */
export interface TimeRow {
  readonly name: string;
  readonly selfMs: number;
  readonly totalMs: number;
}

/** Where a source file belongs: a package, a node internal, a folder of this repository. */
export function groupOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/').slice(0, 2).join('/')}`;
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 14).split('/');
    return `npm:${rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? '')}`;
  }
  const src = /\/(src|bench)\/(.*)$/.exec(url);
  return src === null ? url : `${src[1] ?? ''}/${src[2] ?? ''}`;
}

function frameName(frame: CallFrame): string {
  const where = frame.url === '' ? '' : ` ${groupOf(frame.url, frame.functionName)}:${frame.lineNumber + 1}`;
  return `${frame.functionName === '' ? '(anonymous)' : frame.functionName}${where}`;
}

/**
 * Self and inclusive time per key (function or group); recursion is counted once per stack.
 * Only samples between `fromS` and `toS` seconds after the profile started count.
 */
export function summarizeProfile(profile: CpuProfile, keyOf: (frame: CallFrame) => string, fromS = 0, toS = Number.POSITIVE_INFINITY): { totalMs: number; rows: TimeRow[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let at = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at >= fromS * 1e6 && at <= toS * 1e6) selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const childIds = new Set(profile.nodes.flatMap((n) => n.children ?? []));
  const roots = profile.nodes.filter((n) => !childIds.has(n.id));
  const onStack = new Map<string, number>();
  const visit = (node: ProfileNode): number => {
    const key = keyOf(node.callFrame);
    onStack.set(key, (onStack.get(key) ?? 0) + 1);
    let inclusive = selfUs.get(node.id) ?? 0;
    self.set(key, (self.get(key) ?? 0) + inclusive);
    for (const child of node.children ?? []) {
      const c = byId.get(child);
      if (c !== undefined) inclusive += visit(c);
    }
    const depth = onStack.get(key) ?? 1;
    if (depth === 1) total.set(key, (total.get(key) ?? 0) + inclusive);
    onStack.set(key, depth - 1);
    return inclusive;
  };
  let all = 0;
  for (const root of roots) all += visit(root);
  const rows = [...total.keys()].map((name) => ({ name, selfMs: (self.get(name) ?? 0) / 1000, totalMs: (total.get(name) ?? 0) / 1000 }));
  return { totalMs: all / 1000, rows };
}

function print(title: string, totalMs: number, rows: TimeRow[], sortBy: 'selfMs' | 'totalMs', top: number): void {
  const lines = [...rows].sort((a, b) => b[sortBy] - a[sortBy]).slice(0, top);
  process.stdout.write(`\n${title} (of ${(totalMs / 1000).toFixed(2)} s sampled)\n`);
  process.stdout.write(`${'self %'.padStart(7)} ${'total %'.padStart(8)}  name\n`);
  for (const r of lines) {
    process.stdout.write(`${((100 * r.selfMs) / totalMs).toFixed(1).padStart(7)} ${((100 * r.totalMs) / totalMs).toFixed(1).padStart(8)}  ${r.name}\n`);
  }
}

if (import.meta.main) {
  const file = process.argv[2];
  const flag = (name: string, fallback: number): number => {
    const index = process.argv.indexOf(name);
    return index > 0 ? Number(process.argv[index + 1]) : fallback;
  };
  const top = flag('--top', 30);
  const from = flag('--from', 0);
  const to = flag('--to', Number.POSITIVE_INFINITY);
  if (file === undefined) {
    process.stderr.write('usage: ./tally node bench/profile-summary.ts FILE.cpuprofile [--top N] [--from S] [--to S]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const groups = summarizeProfile(profile, (f) => groupOf(f.url, f.functionName), from, to);
  print('by package / folder, self time', groups.totalMs, groups.rows, 'selfMs', top);
  const functions = summarizeProfile(profile, frameName, from, to);
  print('by function, self time', functions.totalMs, functions.rows, 'selfMs', top);
  print('by function, inclusive time', functions.totalMs, functions.rows.filter((r) => !r.name.startsWith('(')), 'totalMs', top);
}
