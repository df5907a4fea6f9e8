/** Parsing helpers shared by the subcommands: typed values with errors that name the flag. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage.js';

const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * node:util's parseArgs, except that a negative number is a value: it reads
 * `--lr -1` as a flag named `1` ("ambiguous argument"), so a string option
 * followed by a negative number is given it as `--lr=-1`, and the value's own
 * check then names the flag and says what it accepts.
 */
export function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  const options = config.options ?? {};
  const args = [...(config.args ?? [])];
  for (let i = 0; i + 1 < args.length; i++) {
    const name = /^--([^=]+)$/.exec(args[i]!)?.[1];
    if (name && options[name]?.type === 'string' && NEGATIVE_NUMBER.test(args[i + 1]!)) args.splice(i, 2, `--${name}=${args[i + 1]}`);
  }
  return parseArgs({ ...config, args }) as ReturnType<typeof parseArgs<T>>;
}

export function number(flag: string, value: string | undefined, help: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got '${value}'`, help);
  return n;
}

/** A whole number of at least `min` (a count: epochs, batch size, top K). */
export function integer(flag: string, value: string | undefined, help: string, min = 1): number | undefined {
  const n = number(flag, value, help);
  if (n !== undefined && !(Number.isSafeInteger(n) && n >= min)) throw new UsageError(`--${flag} must be a whole number of at least ${min}, got '${value}'`, help);
  return n;
}

/** One of the listed words. */
export function choice<C extends string>(flag: string, value: string | undefined, choices: readonly C[], help: string): C | undefined {
  if (value === undefined) return undefined;
  if (!choices.includes(value as C)) throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, got '${value}'`, help);
  return value as C;
}

export function integerList(flag: string, value: string | undefined, help: string): number[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((s) => Number(s.trim()));
  if (items.some((n) => !Number.isInteger(n) || n < 0)) throw new UsageError(`--${flag} must be comma-separated non-negative integers, got '${value}'`, help);
  return items;
}

export function required(flag: string, value: string | undefined, help: string): string {
  if (value === undefined || value === '') throw new UsageError(`--${flag} is required`, help);
  return value;
}
