/**
 * The one way this package writes a file: into a temporary file beside the
 * target, renamed into place when complete, so a reader (or a crash) never
 * sees half a file. On failure the temporary file is removed and the error
 * becomes a MarsError with the caller's code.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { codeOf, MarsError, type ErrorCode } from '../errors.js';

/** The temporary name for `path`: hidden, beside it, unique to this process and call. */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Runs `write(tmp)` for a temporary path beside `path`, then renames it into
 * place; on failure removes the temporary file, so nothing half-written stays.
 */
export async function atomicWrite(path: string, code: ErrorCode, write: (tmp: string) => Promise<void>): Promise<void> {
  const dir = dirname(path);
  const dirStat = await stat(dir).catch(() => null);
  if (!dirStat?.isDirectory()) throw new MarsError(code, `cannot write ${path}: folder ${dir} does not exist`);
  const tmp = temporaryPathFor(path);
  try {
    await write(tmp);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof MarsError || codeOf(e)?.startsWith('ERR_')) throw e;
    throw new MarsError(code, `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Writes `data` to `path` atomically (see atomicWrite). */
export function writeFileAtomic(path: string, data: string | Uint8Array, code: ErrorCode): Promise<void> {
  return atomicWrite(path, code, (tmp) => writeFile(tmp, data));
}
