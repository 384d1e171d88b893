import { loadOptions, optionsHelp, unknownFlags } from '../config/options.ts';
import { isTallyError } from '../domain/errors.ts';
import { parseArgs } from './args.ts';
import { runReconcile } from './commands/reconcile.ts';
import { runStages } from './commands/serve.ts';
import type { StageName } from '../composition/app.ts';

const HELP = `tally: exact, fresh likes counts (see README.md)

usage: ./tally <command> [options]

commands:
  serve                 run every stage in one process (embedded by default; --distributed for Kafka/PostgreSQL/Redis)
  reconcile [--post ID[,ID...]] [--scheduled]
                        recount rows and repair counters once (every post when --post is absent);
                        --scheduled: run as a process that reconciles every --reconcile-interval-ms
  api | ingest | cdc | counter
                        run one stage of the distributed mode in this process
  bench                 measure throughput, freshness and reads against baselines (./tally bench --help)
  services up|down|status|restart [kafka|postgres|redis]
                        install and run the servers of the distributed mode on 127.0.0.1
  help                  this text

options (flag, environment variable, meaning, default):
${optionsHelp()}
`;

const SINGLE_STAGES: Record<string, StageName> = { api: 'api', ingest: 'ingest', cdc: 'cdc', counter: 'counter' };

async function main(argv: readonly string[]): Promise<void> {
  const { command, flags } = parseArgs(argv);
  if (command === undefined || command === 'help' || (flags.has('help') && command !== 'bench')) {
    process.stdout.write(HELP);
    return;
  }
  if (command === 'bench') {
    const { runBenchCommand } = await import('../../bench/cli.ts');
    await runBenchCommand(argv.slice(1));
    return;
  }
  const extra = command === 'reconcile' ? ['post', 'scheduled'] : [];
  const unknown = unknownFlags(flags, extra);
  if (unknown.length > 0) {
    throw new UsageError(`unknown option --${unknown[0] ?? ''} for "${command}"; ./tally --help lists the options`);
  }
  const options = loadOptions(flags, process.env);
  switch (command) {
    case 'serve':
      await runStages(options, new Set<StageName>(['api', 'ingest', 'cdc', 'counter', 'reconcile']));
      return;
    case 'reconcile':
      if (flags.has('scheduled')) await runStages(options, new Set<StageName>(['reconcile']));
      else await runReconcile(options, flags.get('post'));
      return;
    default: {
      const stage = SINGLE_STAGES[command];
      if (stage === undefined) throw new UsageError(`unknown command "${command}"; ./tally --help lists the commands`);
      await runStages({ ...options, distributed: true }, new Set<StageName>([stage]));
    }
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || isTallyError(error)) {
    process.stderr.write(`tally: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`tally: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
