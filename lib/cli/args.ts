/** Parsing helpers shared by the subcommands: typed values with errors that name the flag. */
import { UsageError } from './usage.js';

export function number(flag: string, value: string | undefined, help: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got '${value}'`, help);
  return n;
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
