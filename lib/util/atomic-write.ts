/**
 * The one way this package writes a file: into a temporary file beside the
 * target (`.NAME.<pid>.<8 hex>.tmp`), written with checked I/O (every write,
 * the flush to disk and the close are awaited and their errors kept), then
 * renamed into place, so a reader (or a crash) never sees half a file. On
 * failure the temporary file is removed and the error becomes a MarsError
 * with the caller's code. Temporaries that a killed process left behind are
 * swept by `sweepStaleTemporaries`.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { codeOf, MarsError, type ErrorCode } from '../errors.js';

/** Our temporary names: `.NAME.<pid>.<8 hex digits>.tmp`. */
const TEMPORARY = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** Temporary files this process is writing now (removed on a forced exit, see removePendingTemporaries). */
const pending = new Set<string>();

/** The temporary name for `path`: hidden, beside it, unique to this process and call. */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** What a failed write means, in words a user can act on. */
export function describeWriteError(e: unknown): string {
  const why: Record<string, string> = {
    ENOSPC: 'the disk is full (ENOSPC)',
    EDQUOT: 'the disk quota is exhausted (EDQUOT)',
    EFBIG: 'the file is larger than this process may write (EFBIG)',
    EROFS: 'the file system is read-only (EROFS)',
    EACCES: 'permission denied (EACCES)',
    EPERM: 'operation not permitted (EPERM)',
    EISDIR: 'a folder is in the way (EISDIR)',
    ENOTDIR: 'a file is in the way where a folder should be (ENOTDIR)',
    ENOTEMPTY: 'a folder is in the way (ENOTEMPTY)',
    EIO: 'an input/output error of the device (EIO)',
    ELOOP: 'a loop of symbolic links (ELOOP)',
    EMFILE: 'too many open files (EMFILE)',
  };
  return why[codeOf(e) ?? ''] ?? (e as Error).message;
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
  pending.add(tmp);
  try {
    await write(tmp);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    if (e instanceof MarsError || codeOf(e)?.startsWith('ERR_')) throw e;
    throw new MarsError(code, `cannot write ${path}: ${describeWriteError(e)}; nothing was written`, { cause: e });
  } finally {
    pending.delete(tmp);
  }
}

/** Writes `data` to a new file `path` and flushes it to disk; every step's error is thrown. */
async function writeChecked(path: string, data: string | Uint8Array): Promise<void> {
  const file = await open(path, 'wx');
  try {
    await file.writeFile(data);
    // Some file systems (NFS, quotas) report a full disk only when the data are flushed.
    await file.datasync();
  } finally {
    await file.close();
  }
}

/** Writes `data` to `path` atomically (see atomicWrite). */
export function writeFileAtomic(path: string, data: string | Uint8Array, code: ErrorCode): Promise<void> {
  return atomicWrite(path, code, (tmp) => writeChecked(tmp, data));
}

/**
 * Removes, synchronously, the temporary files this process is writing now:
 * for a process that must exit at once (a second Ctrl-C) without leaving them.
 */
export function removePendingTemporaries(): void {
  for (const tmp of pending) rmSync(tmp, { force: true });
  pending.clear();
}

/** Whether process `pid` of this machine is running (this process counts). */
export function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return codeOf(e) === 'EPERM';
  }
}

/**
 * Removes the temporary files of our own naming in `dir` whose process is no
 * longer alive (left by a killed run); returns their paths. Nothing else is
 * touched: a name must match `.NAME.<pid>.<8 hex>.tmp` exactly.
 */
export async function sweepStaleTemporaries(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const stale = names
    .map((name) => ({ name, match: TEMPORARY.exec(name) }))
    .filter(({ match }) => match && !isAlive(Number(match[1])))
    .map(({ name }) => join(dir, name));
  const removed = await Promise.all(stale.map((path) => rm(path).then(() => path, () => null)));
  return removed.filter((path): path is string => path !== null);
}
