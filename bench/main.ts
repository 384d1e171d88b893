import { runBenchCommand } from './cli.ts';

/** `./tally bench`: the benchmark's own entry (src never imports bench/). */
await runBenchCommand(process.argv.slice(2));
