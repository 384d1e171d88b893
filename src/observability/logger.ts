import pino from 'pino';

export type Logger = pino.Logger;

/** JSON logs to stderr (stdout is kept for command output such as `--json`). */
export function createLogger(level: string, name = 'tally'): Logger {
  return pino({ name, level }, pino.destination(2));
}
