import '../config/v8-flags.ts';
import { loadOptions, optionFlags, optionsHelp, type FlagKind } from '../config/options.ts';
import { isTallyError } from '../domain/errors.ts';
import { parseCommandLine, UsageError } from './args.ts';
import { runDynamodb } from './commands/dynamodb.ts';
import { runErase } from './commands/erase.ts';
import { runNamespace } from './commands/namespace.ts';
import { runReconcile } from './commands/reconcile.ts';
import { runStages } from './commands/serve.ts';
import { runToken } from './commands/token.ts';
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
  services up|down|status|restart [kafka|postgres|redis|dynamodb]
                        install and run the servers of the distributed mode on 127.0.0.1
  dynamodb init         create the --store dynamodb tables of --namespace when absent (on-demand billing, streams on)
  namespace drop NAME   delete everything the distributed mode keeps under namespace NAME (Kafka topics
                        and groups, the --store's tables, Redis keys); stop its processes first
  erase --user ID | --post ID [--url URL] [--token JWT] [--wait-ms MS]
                        erase every like of a user (given before now) or of a post, through the running api
                        (default http://--host:--port; TALLY_TOKEN for --auth jwt); prints progress, exits 0 once applied
  token --sub ID [--scope "likes:write likers:read"] [--ttl SECONDS]
                        print an HS256 token signed with --jwt-secret-file (a service token when --scope is given)
  help                  this text

options (flag, environment variable, meaning, default):
${optionsHelp()}
`;

const SINGLE_STAGES: Record<string, StageName> = { api: 'api', ingest: 'ingest', cdc: 'cdc', counter: 'counter' };

/** How many words some commands take after their name. */
const COMMAND_WORDS: Record<string, number> = { namespace: 2, dynamodb: 1 };

/** Flags some commands take besides the options. */
const COMMAND_FLAGS: Record<string, Record<string, FlagKind>> = {
  reconcile: { post: 'string', scheduled: 'boolean' },
  token: { sub: 'string', scope: 'string', ttl: 'string' },
  erase: { user: 'string', post: 'string', url: 'string', token: 'string', 'wait-ms': 'string' },
};

async function main(argv: readonly string[]): Promise<void> {
  const command = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : undefined;
  const rest = command === undefined ? argv : argv.slice(1);
  if (command === 'bench') {
    // The bench has its own entry and table (bench/cli.ts); src does not import it.
    throw new UsageError('run the benchmark with ./tally bench (see ./tally bench --help)');
  }
  const { flags, positionals } = parseCommandLine(rest, { ...optionFlags(), ...COMMAND_FLAGS[command ?? ''], help: 'boolean' }, COMMAND_WORDS[command ?? ''] ?? 0, './tally --help lists the options');
  if (command === undefined || command === 'help' || isOn(flags.get('help'))) {
    process.stdout.write(HELP);
    return;
  }
  const options = loadOptions(flags, process.env);
  switch (command) {
    case 'serve':
      await runStages(options, new Set<StageName>(['api', 'ingest', 'cdc', 'counter', 'reconcile']));
      return;
    case 'token':
      await runToken(options, flags);
      return;
    case 'erase':
      await runErase(options, flags);
      return;
    case 'namespace':
      await runNamespace(options, positionals);
      return;
    case 'dynamodb':
      await runDynamodb(options, positionals);
      return;
    case 'reconcile':
      if (isOn(flags.get('scheduled'))) await runStages(options, new Set<StageName>(['reconcile']));
      else await runReconcile(options, flags.get('post'));
      return;
    default: {
      const stage = SINGLE_STAGES[command];
      if (stage === undefined) throw new UsageError(`unknown command "${command}"; ./tally --help lists the commands`);
      await runStages({ ...options, distributed: true }, new Set<StageName>([stage]));
    }
  }
}

/** A boolean command flag's raw value (the parser gives a bare switch as `true`). */
function isOn(raw: string | undefined): boolean {
  return raw !== undefined && ['true', '1', 'yes'].includes(raw);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || isTallyError(error)) {
    process.stderr.write(`tally: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`tally: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
