/**
 * The search's folder: `search.json` (the settings that make trials
 * comparable, written once), `trials.jsonl` (append-only, one whole line per
 * finished trial) and `best.json` (rewritten atomically). The folder is locked
 * for the search's length (one search at a time); opening one that holds a
 * search with other settings fails instead of mixing the two; every trial
 * read back must be one of this search (record.ts); a last line cut short by
 * a killed process is dropped, so at most the trials in flight are lost.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MarsError } from '../errors.js';
import { appendLine } from '../util/append-line.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { DirLock } from '../util/dir-lock.js';
import { journalError, readJournal } from '../util/journal-file.js';
import { ensureOutputDir } from '../util/output-dir.js';
import { trialRecordSchema, type RecordShape } from './record.js';
import type { TrialRecord } from './trial.js';

/** The names of the top-level settings whose values differ. */
function differences(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/** The settings in search.json; ERR_JOURNAL naming the file when it is not a JSON object. */
function readSettings(path: string): Record<string, unknown> {
  let saved: unknown;
  try {
    saved = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw journalError(path, `not the JSON of a search's settings (${(e as Error).message})`);
  }
  if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) throw journalError(path, "not the JSON object of a search's settings");
  return saved as Record<string, unknown>;
}

export class Journal {
  private constructor(
    private readonly dir: string | undefined,
    readonly records: TrialRecord[],
    private readonly lock: DirLock | undefined,
  ) {}

  /** A journal kept in memory only. */
  static memory(): Journal {
    return new Journal(undefined, [], undefined);
  }

  /**
   * Opens (or starts) the journal in `dir` for a search with `settings` (JSON
   * values) whose trials have `shape`, and locks the folder until close().
   */
  static async open(dir: string, settings: Record<string, unknown>, shape: RecordShape): Promise<Journal> {
    await ensureOutputDir(dir, 'search folder');
    const lock = await DirLock.acquire(dir);
    try {
      const settingsPath = join(dir, 'search.json');
      const saved = existsSync(settingsPath) ? readSettings(settingsPath) : undefined;
      if (saved) {
        const differ = differences(saved, JSON.parse(JSON.stringify(settings)) as Record<string, unknown>);
        if (differ.length) {
          throw new MarsError('ERR_INVALID_ARGUMENT', `${dir} holds a search with other settings (${differ.join(', ')} differ); give another folder, or delete it to start over`);
        }
      }
      const path = join(dir, 'trials.jsonl');
      const lines = readJournal(path, trialRecordSchema(shape), (all) => {
        const seen = new Map<number, number>();
        for (const { line, record } of all) {
          const first = seen.get(record.id);
          if (first) throw journalError(path, `trial ${record.id} appears twice (lines ${first} and ${line})`);
          seen.set(record.id, line);
        }
      });
      if (!saved) await writeFileAtomic(settingsPath, JSON.stringify(settings, null, 2) + '\n', 'ERR_WRITE');
      return new Journal(dir, lines.map((l) => l.record), lock);
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  /** Appends a finished trial as one whole line; ERR_WRITE (and the file as it was) when it cannot. */
  append(record: TrialRecord): void {
    if (this.dir) appendLine(join(this.dir, 'trials.jsonl'), JSON.stringify(record), 'ERR_WRITE');
    this.records.push(record);
  }

  async writeBest(best: Record<string, unknown>): Promise<void> {
    if (this.dir) await writeFileAtomic(join(this.dir, 'best.json'), JSON.stringify(best, null, 2) + '\n', 'ERR_WRITE');
  }

  /** Unlocks the folder; the journal is not written any more. */
  close(): void {
    this.lock?.release();
  }
}
