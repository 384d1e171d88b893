import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { benchHelp, BenchUsageError, parseBenchOptions } from './options.ts';
import { renderReport } from './report-html.ts';
import { runBench } from './run-bench.ts';
import { summaryTable } from './summary-table.ts';
import { TargetUnavailable } from './target.ts';

/**
 * `./tally bench`: runs the benchmark, prints a summary on stderr, writes the HTML report and,
 * with `--json`, prints the results as the last line of stdout. Exit code 0 when every count was
 * right, 1 when one was wrong (or the run failed), 2 for a bad command line, 3 when the target
 * could not start.
 */
export async function runBenchCommand(argv: readonly string[]): Promise<void> {
  let options;
  try {
    options = parseBenchOptions(argv);
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    process.stderr.write(`tally bench: ${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    process.stdout.write(benchHelp());
    return;
  }
  const say = (line: string): void => {
    process.stderr.write(`tally bench: ${line}\n`);
  };
  let outcome;
  try {
    outcome = await runBench(options, argv, say);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof TargetUnavailable) {
      say(message);
      if (options.json) process.stdout.write(`${JSON.stringify({ tool: 'tally-bench', correct: false, target: options.target, available: false, error: message })}\n`);
      process.exitCode = 3;
      return;
    }
    say(`failed: ${error instanceof Error ? (error.stack ?? message) : message}`);
    if (options.json) process.stdout.write(`${JSON.stringify({ tool: 'tally-bench', correct: false, error: message })}\n`);
    process.exitCode = 1;
    return;
  }
  const { result, charts } = outcome;
  const reportPath = options.report;
  try {
    mkdirSync(dirname(reportPath), { recursive: true });
    writeFileSync(reportPath, renderReport(result, charts));
  } catch (error) {
    say(`could not write the report ${reportPath}: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.stderr.write(`\n${summaryTable(result)}\n`);
  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.correct ? 0 : 1;
}
