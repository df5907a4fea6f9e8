/**
 * Flag values checked by the schema of the option they set, so that a bad
 * value names the flag (`--epochs 0: ...`), not the API field it feeds
 * (`fineTune options.epochs`), and the schema stays the one judge of what is valid.
 */
import type { z } from 'zod';
import { number } from './args.js';
import { UsageError } from './usage.js';

/** `value` (from `--flag raw`) checked by `schema`. */
export function checked<S extends z.ZodType>(flag: string, schema: S, value: unknown, raw: string, help: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new UsageError(`--${flag} ${raw}: ${r.error.issues.map((i) => i.message).join('; ')}`, help);
}

/** A numeric flag checked by its option's schema; undefined when the flag is absent. */
export function numberFlag<S extends z.ZodType>(flag: string, raw: string | undefined, schema: S, help: string): z.output<S> | undefined {
  const n = number(flag, raw, help);
  return n === undefined ? undefined : checked(flag, schema, n, raw as string, help);
}

/** `N` (N×N) or `HxW`, as [height, width] or N. */
export function sizeFlag(flag: string, raw: string | undefined, help: string): number | [number, number] | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d+)(?:x(\d+))?$/.exec(raw.trim());
  const [h, w] = [Number(m?.[1]), Number(m?.[2] ?? m?.[1])];
  if (!m || !(h > 0 && w > 0)) throw new UsageError(`--${flag} must be N or HxW (pixels, e.g. 224 or 224x160), got '${raw}'`, help);
  return m[2] === undefined ? h : [h, w];
}
