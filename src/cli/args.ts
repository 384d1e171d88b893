/** A parsed command line: the subcommand and its `--flag value` / `--flag=value` / `--switch` flags. */
export interface ParsedArgs {
  readonly command: string | undefined;
  readonly flags: Map<string, string>;
  readonly positionals: string[];
}

/** Flags that take no value. */
const SWITCHES = new Set(['help', 'json', 'quick', 'distributed', 'keep', 'scheduled', 'pipeline-thread']);

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h') {
      flags.set('help', 'true');
    } else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq > 2) {
        flags.set(arg.slice(2, eq), arg.slice(eq + 1));
      } else {
        const name = arg.slice(2);
        const next = argv[i + 1];
        if (SWITCHES.has(name) || next === undefined || next.startsWith('--')) {
          flags.set(name, 'true');
        } else {
          flags.set(name, next);
          i++;
        }
      }
    } else {
      positionals.push(arg);
    }
  }
  return { command: positionals.shift(), flags, positionals };
}
