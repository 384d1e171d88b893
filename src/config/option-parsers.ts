/** The parsers and the shape of the option table (src/config/options.ts). */

/** How a flag takes its value: `string` needs one; `boolean` is a switch that also takes true/false. */
export type FlagKind = 'string' | 'boolean';

/** How one option is read, checked and documented. */
export interface OptionSpec<T> {
  /** Command-line flag, without the leading dashes. */
  readonly flag: string;
  /** Environment variable. */
  readonly env: string;
  readonly default: T;
  readonly doc: string;
  /** Returns the parsed value, or a string saying what is allowed. */
  readonly parse: (raw: string) => T | { readonly allowed: string };
}

export function int(min: number, max: number) {
  return (raw: string): number | { allowed: string } => {
    const value = /^-?\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
    return Number.isSafeInteger(value) && value >= min && value <= max ? value : { allowed: `an integer from ${min} to ${max}` };
  };
}

export function oneOf<T extends string>(...values: T[]) {
  return (raw: string): T | { allowed: string } => ((values as string[]).includes(raw) ? (raw as T) : { allowed: `one of ${values.join(', ')}` });
}

export function nonEmpty(raw: string): string | { allowed: string } {
  return raw.trim().length > 0 ? raw : { allowed: 'a non-empty string' };
}

export function bool(raw: string): boolean | { allowed: string } {
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  return { allowed: 'true or false' };
}

export function url(protocols: string[]) {
  return (raw: string): string | { allowed: string } => {
    try {
      const parsed = new URL(raw);
      if (protocols.includes(parsed.protocol)) return raw;
    } catch {
      // falls through to the message below
    }
    return { allowed: `a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` };
  };
}

/** Widens a literal default to its option type. */
export const widen = <T>(value: T): T => value;
