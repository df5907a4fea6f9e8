/**
 * Validation at the public edge: every option object goes through its zod
 * schema (the one source of its defaults), and a zod failure becomes
 * ERR_INVALID_ARGUMENT naming the field and what it accepts.
 */
import type { z } from 'zod';
import { MarsError } from '../errors.js';

/** Validates `value` against `schema`; throws ERR_INVALID_ARGUMENT naming `what` and the field. */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.length ? `${what}.${issue.path.join('.')}` : what;
    return `${field}: ${issue.message}`;
  });
  throw new MarsError('ERR_INVALID_ARGUMENT', `invalid ${what}: ${problems.join('; ')}`);
}
