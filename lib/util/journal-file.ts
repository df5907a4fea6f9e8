/**
 * Reading a journal of JSON lines (trials.jsonl, runs.jsonl) only as far as
 * it can be trusted. Records are appended whole, newline included
 * (append-line.ts), so what follows the last newline is a line a killed
 * process did not finish: it is cut off the file, on bytes (decoding first
 * would turn invalid bytes into replacement characters of another length and
 * cut in the wrong place). Every complete line must be UTF-8, JSON and a
 * record of the caller's schema, else the file is refused with ERR_JOURNAL
 * naming it and the line, before anything is written.
 */
import { existsSync, readFileSync, truncateSync } from 'node:fs';
import type { z } from 'zod';
import { MarsError } from '../errors.js';
import { describeWriteError } from './atomic-write.js';

/** A journal that cannot be trusted: ERR_JOURNAL naming the file and, in `why`, what is wrong where. */
export function journalError(path: string, why: string): MarsError {
  return new MarsError('ERR_JOURNAL', `${path}: ${why}; was it edited, or written by something else? Correct or remove that line, or move the file away to start over`);
}

/** Zod's complaints in one line: the field, then what it accepts. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.slice(0, 3).map((i) => `${i.path.length ? i.path.join('.') : 'the record'}: ${i.message}`).join('; ');
}

export interface JournalLine<T> {
  /** 1-based, as an editor numbers lines. */
  line: number;
  record: T;
}

/**
 * The records of the journal at `path` (none when it does not exist), each
 * checked against `schema`, then all of them by `check` (which throws); only
 * then is a torn last line cut off the file. Blank lines are skipped.
 */
export function readJournal<S extends z.ZodType>(path: string, schema: S, check?: (lines: JournalLine<z.output<S>>[]) => void): JournalLine<z.output<S>>[] {
  if (!existsSync(path)) return [];
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new MarsError('ERR_JOURNAL', `cannot read ${path}: ${describeWriteError(e)}`, { cause: e });
  }
  const whole = bytes.lastIndexOf(0x0a) + 1;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const lines: JournalLine<z.output<S>>[] = [];
  for (let start = 0, line = 1; start < whole; line++) {
    const stop = bytes.indexOf(0x0a, start);
    const raw = bytes.subarray(start, stop);
    start = stop + 1;
    let text: string;
    try {
      text = decoder.decode(raw);
    } catch {
      throw journalError(path, `line ${line} is not UTF-8 text`);
    }
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw journalError(path, `line ${line} is not JSON (${(e as Error).message})`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw journalError(path, `line ${line} is not a record of this journal (${describeIssues(parsed.error)})`);
    lines.push({ line, record: parsed.data });
  }
  check?.(lines);
  if (whole < bytes.length) {
    try {
      truncateSync(path, whole);
    } catch (e) {
      throw new MarsError('ERR_WRITE', `cannot cut the unfinished last line off ${path}: ${describeWriteError(e)}`, { cause: e });
    }
  }
  return lines;
}
