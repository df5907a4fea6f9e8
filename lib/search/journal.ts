/**
 * The search's folder: `search.json` (the settings that make trials
 * comparable, written once), `trials.jsonl` (append-only, one line per
 * finished trial) and `best.json` (rewritten atomically). Opening a folder
 * that holds a search with other settings fails instead of mixing the two; a
 * last line cut short by a killed process is dropped, so at most the trials
 * in flight are lost.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { MarsError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { TrialRecord } from './trial.js';

const isRecord = (v: unknown): v is TrialRecord =>
  typeof v === 'object' && v !== null && Number.isInteger((v as TrialRecord).id) && typeof (v as TrialRecord).params === 'object' &&
  ['complete', 'pruned', 'failed'].includes((v as TrialRecord).status);

/** The names of the top-level settings whose values differ. */
function differences(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

export class Journal {
  private constructor(
    private readonly dir: string | undefined,
    readonly records: TrialRecord[],
  ) {}

  /** A journal kept in memory only. */
  static memory(): Journal {
    return new Journal(undefined, []);
  }

  /** Opens (or starts) the journal in `dir` for a search with `settings` (JSON values). */
  static async open(dir: string, settings: Record<string, unknown>): Promise<Journal> {
    mkdirSync(dir, { recursive: true });
    const settingsPath = join(dir, 'search.json');
    if (existsSync(settingsPath)) {
      const saved = JSON.parse(readFileSync(settingsPath, 'utf8')) as Record<string, unknown>;
      const differ = differences(saved, JSON.parse(JSON.stringify(settings)) as Record<string, unknown>);
      if (differ.length) {
        throw new MarsError('ERR_INVALID_ARGUMENT', `${dir} holds a search with other settings (${differ.join(', ')} differ); give another folder, or delete it to start over`);
      }
    } else {
      await writeFileAtomic(settingsPath, JSON.stringify(settings, null, 2) + '\n', 'ERR_WRITE');
    }
    return new Journal(dir, readTrials(join(dir, 'trials.jsonl')));
  }

  /** Appends a finished trial: one write of one line. */
  append(record: TrialRecord): void {
    this.records.push(record);
    if (this.dir) appendFileSync(join(this.dir, 'trials.jsonl'), JSON.stringify(record) + '\n');
  }

  async writeBest(best: Record<string, unknown>): Promise<void> {
    if (this.dir) await writeFileAtomic(join(this.dir, 'best.json'), JSON.stringify(best, null, 2) + '\n', 'ERR_WRITE');
  }
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** The records of trials.jsonl; a torn last line is cut off the file, any other bad line fails. */
function readTrials(path: string): TrialRecord[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const records: TrialRecord[] = [];
  let good = 0;
  for (const [n, line] of text.split('\n').entries()) {
    const end = good + line.length + 1;
    if (end > text.length) {
      // The last piece: empty after the final newline, or a line a killed process did not finish.
      if (line) truncateSync(path, Buffer.byteLength(text.slice(0, good)));
      break;
    }
    const parsed = parseLine(line);
    if (!isRecord(parsed)) throw new MarsError('ERR_DATA_FILE', `${path}: line ${n + 1} is not a trial record; move the file away to start over`);
    if (records.some((r) => r.id === parsed.id)) throw new MarsError('ERR_DATA_FILE', `${path}: trial ${parsed.id} appears twice (line ${n + 1})`);
    records.push(parsed);
    good = end;
  }
  return records;
}
