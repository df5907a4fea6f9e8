// The journal on disk: what a killed process leaves, what another search finds.
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal } from '../../lib/search/journal.js';
import type { TrialRecord } from '../../lib/search/trial.js';

const record = (id: number): TrialRecord => ({
  id, status: 'complete', params: { extractor: 1 + id }, score: 0.5, accuracy: 0.5, loss: 1, folds: [], seconds: 1, threads: 1,
});
const line = (id: number) => JSON.stringify(record(id)) + '\n';

describe('Journal', () => {
  it('drops a last line cut short, cutting it off the file, and appends after the good lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mars-journal-'));
    await Journal.open(dir, { a: 1 });
    const file = join(dir, 'trials.jsonl');
    writeFileSync(file, line(1) + line(2) + line(3).slice(0, 25));
    const j = await Journal.open(dir, { a: 1 });
    expect(j.records.map((r) => r.id)).toEqual([1, 2]);
    j.append(record(3));
    expect(readFileSync(file, 'utf8')).toBe(line(1) + line(2) + line(3));
  });

  it('fails on a bad line before the last, and on a trial recorded twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mars-journal-'));
    await Journal.open(dir, {});
    writeFileSync(join(dir, 'trials.jsonl'), line(1) + '{"oops": true}\n' + line(2));
    await expect(Journal.open(dir, {})).rejects.toThrow(/line 2 is not a trial record/);
    writeFileSync(join(dir, 'trials.jsonl'), line(1) + line(1));
    await expect(Journal.open(dir, {})).rejects.toThrow(/trial 1 appears twice/);
  });

  it('refuses a folder holding a search with other settings, naming them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mars-journal-'));
    await Journal.open(dir, { method: 'mars-sp', trials: [1], seed: 0 });
    await expect(Journal.open(dir, { method: 'l2-sp', trials: [1], seed: 1 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/other settings \(method, seed differ\)/),
    });
    appendFileSync(join(dir, 'trials.jsonl'), line(1));
    expect((await Journal.open(dir, { method: 'mars-sp', trials: [1], seed: 0 })).records).toHaveLength(1);
  });
});
