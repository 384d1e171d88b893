import { parseArgs } from 'node:util';
import type { FlagKind } from '../config/options.ts';

/** A parsed command line: the positional words and the flags, as raw strings. */
export interface CommandLine {
  readonly positionals: readonly string[];
  /** Flag name (without dashes) → raw value; a bare switch is `"true"`. */
  readonly flags: ReadonlyMap<string, string>;
}

/** A command line the table refuses; the message names the argument and what to do. */
export class UsageError extends Error {}

const BOOLEAN_WORDS = new Set(['true', 'false', '1', '0', 'yes', 'no']);

/**
 * Parses `argv` against one table of flags (`node:util` parseArgs, strict): `--flag value`,
 * `--flag=value`, and for boolean flags `--flag`, `--flag true|false` and `--flag=false`. An
 * unknown flag, a missing value or more positionals than `maxPositionals` is a UsageError naming
 * it; `help` names where the options are listed.
 */
export function parseCommandLine(argv: readonly string[], table: Readonly<Record<string, FlagKind>>, maxPositionals: number, help: string): CommandLine {
  // parseArgs' booleans take no value: fold `--flag true|false` into `--flag=value` and declare
  // every flag as a string, so the value given to a switch is honoured rather than dropped.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : undefined;
    if (name !== undefined && table[name] === 'boolean') {
      const next = argv[i + 1];
      if (next !== undefined && BOOLEAN_WORDS.has(next)) {
        args.push(`--${name}=${next}`);
        i++;
      } else {
        args.push(`--${name}=true`);
      }
    } else if (arg === '-h') {
      args.push('--help=true');
    } else {
      args.push(arg);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: Object.fromEntries(Object.keys(table).map((flag) => [flag, { type: 'string' as const }])),
    });
  } catch (error) {
    throw new UsageError(`${describeParseError(error)}; ${help}`);
  }
  if (parsed.positionals.length > maxPositionals) {
    const stray = parsed.positionals[maxPositionals] ?? '';
    throw new UsageError(`unexpected argument "${stray}"${stray.startsWith('-') ? '' : ' (flags start with --)'}; ${help}`);
  }
  const flags = new Map<string, string>();
  for (const [name, value] of Object.entries(parsed.values)) if (typeof value === 'string') flags.set(name, value);
  return { positionals: parsed.positionals, flags };
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown !== null) return `unknown option ${unknown[1] ?? ''}`;
  const missing = /Option '([^']+?)(?: <value>)?' argument missing/.exec(message);
  if (missing !== null) return `option ${missing[1] ?? ''} needs a value`;
  // `--batch-wait-ms -1`: parseArgs will not take a value that looks like a flag.
  const dashed = /Option '([^']+?)(?: <value>)?' argument is ambiguous/.exec(message);
  if (dashed !== null) return `option ${dashed[1] ?? ''} is followed by a value starting with "-"; write it as ${dashed[1] ?? ''}=<value>`;
  return message.split('\n')[0] ?? message;
}
