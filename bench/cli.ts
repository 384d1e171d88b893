/** `./tally bench`: see bench/README in BENCHMARKS.md. Built in its own issue. */
export async function runBenchCommand(_argv: readonly string[]): Promise<void> {
  process.stderr.write('tally bench: not built yet\n');
  process.exitCode = 2;
}
