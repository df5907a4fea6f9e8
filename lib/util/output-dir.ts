/**
 * Making the folder a run writes into, with errors that say what is wrong.
 * Node's recursive mkdir loops for ever under /proc (it retries on ENOENT),
 * reports a file in the way as a bare EEXIST and a read-only parent as a
 * misleading ENOENT; this walks the path itself, one component at a time,
 * and then proves the folder writable by creating and removing a file in it,
 * so a run fails before it trains, not when it first saves.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { codeOf, MarsError } from '../errors.js';
import { describeWriteError } from './atomic-write.js';

function fail(what: string, dir: string, why: string, cause?: unknown): never {
  throw new MarsError('ERR_OUTPUT_DIR', `cannot use ${dir} as the ${what}: ${why}`, cause === undefined ? undefined : { cause });
}

function reason(e: unknown, at: string): string {
  switch (codeOf(e)) {
    case 'ENOENT':
      // mkdir's ENOENT under an existing folder: the file system does not allow it (/proc, /sys).
      return `${dirname(at)} does not allow creating folders (a virtual file system such as /proc?)`;
    case 'EEXIST':
    case 'ENOTDIR':
      return `${at} is a file, not a folder`;
    case 'EROFS':
      return `${dirname(at)} is on a read-only file system`;
    case 'EACCES':
    case 'EPERM':
      return `no permission to create ${at}`;
    default:
      return `${at}: ${describeWriteError(e)}`;
  }
}

/** The folder at `path` exists or is created, and a file can be created in it; else ERR_OUTPUT_DIR. */
export async function ensureOutputDir(path: string, what = 'output folder'): Promise<string> {
  if (typeof path !== 'string' || path === '') throw new MarsError('ERR_INVALID_ARGUMENT', `the ${what} must be a non-empty path`);
  const dir = resolve(path);
  const parts = dir.split(sep).filter(Boolean);
  let at: string = sep;
  for (const part of parts) {
    at = join(at, part);
    const info = await stat(at).catch((e: unknown) => e);
    if (info instanceof Error) {
      if (codeOf(info) === 'ELOOP') fail(what, dir, `${at} is a loop of symbolic links`, info);
      if (codeOf(info) === 'ENOTDIR') fail(what, dir, `${dirname(at)} is a file, not a folder`, info);
      if (codeOf(info) !== 'ENOENT') fail(what, dir, reason(info, at), info);
      await mkdir(at).catch((e: unknown) => {
        if (codeOf(e) !== 'EEXIST') fail(what, dir, reason(e, at), e);
      });
      const made = await stat(at).catch(() => null);
      if (!made?.isDirectory()) fail(what, dir, `${at} is a file, not a folder`);
    } else if (!(info as { isDirectory(): boolean }).isDirectory()) {
      fail(what, dir, `${at} is a file, not a folder`);
    }
  }
  // Root bypasses permissions, not read-only mounts or virtual file systems: only trying tells.
  const probe = join(dir, `.mars-probe.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await (await open(probe, 'wx')).close();
  } catch (e) {
    fail(what, dir, codeOf(e) === 'ENOENT' ? `${dir} does not allow creating files (a virtual file system such as /proc?)` : `cannot create files in it: ${describeWriteError(e)}`, e);
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
  return dir;
}
