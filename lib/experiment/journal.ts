/**
 * The experiment's folder: `experiment.json` (the configuration it runs, so
 * that a resumed run continues the same one), `runs.jsonl` (one line per
 * finished run, appended whole; a line cut by a crash is dropped on reading)
 * and `search/` (one resumable search per searched cell).
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MarsError } from '../errors.js';
import { ensureOutputDir } from '../util/output-dir.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export class RunJournal<R extends { key: string }> {
  private constructor(
    readonly dir: string,
    private readonly done: Map<string, R>,
  ) {}

  /** Opens `dir` for `settings`; a folder holding another experiment is refused. */
  static async open<R extends { key: string }>(dir: string, settings: unknown): Promise<RunJournal<R>> {
    await ensureOutputDir(dir, 'experiment folder');
    const file = join(dir, 'experiment.json');
    const text = JSON.stringify(settings, null, 2) + '\n';
    if (existsSync(file)) {
      if (readFileSync(file, 'utf8') !== text) {
        throw new MarsError('ERR_INVALID_ARGUMENT', `${dir} holds another experiment (its experiment.json differs from this configuration and backbone): give another --out, or remove it`);
      }
    } else {
      await writeFileAtomic(file, text, 'ERR_WRITE');
    }
    const runs = join(dir, 'runs.jsonl');
    const done = new Map<string, R>();
    if (existsSync(runs)) {
      for (const line of readFileSync(runs, 'utf8').split('\n')) {
        try {
          const r = JSON.parse(line) as R;
          done.set(r.key, r);
        } catch {
          // An empty line, or the last one cut by a crash: that run runs again.
        }
      }
    }
    return new RunJournal(dir, done);
  }

  get(key: string): R | undefined {
    return this.done.get(key);
  }

  get size(): number {
    return this.done.size;
  }

  /** Appends a finished run as one whole line. */
  add(record: R): void {
    appendFileSync(join(this.dir, 'runs.jsonl'), '\n' + JSON.stringify(record) + '\n');
    this.done.set(record.key, record);
  }
}
