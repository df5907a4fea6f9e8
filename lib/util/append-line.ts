/**
 * Appending one line to a journal (trials.jsonl, runs.jsonl, metrics.jsonl)
 * so that it is there whole or not at all. Node's appendFileSync keeps what a
 * short write put down before the disk filled up: a torn line, which the next
 * append glues to its own. This writes the line with as many writes as the
 * system needs and, on any failure, cuts the file back to the length it had.
 */
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { MarsError, type ErrorCode } from '../errors.js';
import { describeWriteError } from './atomic-write.js';

/** Appends `line` and a newline to `path`; on failure the file is as it was and the error has `code`. */
export function appendLine(path: string, line: string, code: ErrorCode): void {
  const bytes = Buffer.from(line + '\n');
  let fd: number | undefined;
  let before = 0;
  try {
    fd = openSync(path, 'a');
    before = fstatSync(fd).size;
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
    // Some file systems (NFS, quotas) report a full disk only when the data are flushed.
    fdatasyncSync(fd);
  } catch (e) {
    if (fd !== undefined) {
      try {
        ftruncateSync(fd, before);
      } catch {
        // The append's own error is the one to report; a torn last line is cut off when the journal is read.
      }
    }
    throw new MarsError(code, `cannot append to ${path}: ${describeWriteError(e)}; the file keeps its whole lines`, { cause: e });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
