// The journal on disk: what a killed process leaves, what another search
// finds, what a hand (or another program) may have done to it. Every damaged
// journal is refused with ERR_JOURNAL naming the file and the line, before
// the search runs a trial.
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal } from '../../lib/search/journal.js';
import { logUniform } from '../../lib/search/space.js';
import type { TrialRecord } from '../../lib/search/trial.js';
import { ROOT } from '../helpers/paths.js';

const shape = { space: { extractor: logUniform(1, 10) }, trials: 5, splits: 1, epochs: 1 };
const record = (id: number): TrialRecord => ({
  id, status: 'complete', params: { extractor: 1 + id }, score: 0.5, accuracy: 0.5, loss: 1,
  folds: [{ repeat: 0, fold: 0, count: 4, accuracy: 0.5, loss: 1, epochs: [{ accuracy: 0.5, loss: 1 }] }], seconds: 1, threads: 1,
});
const line = (id: number, changes: Record<string, unknown> = {}) => JSON.stringify({ ...record(id), ...changes }) + '\n';
const tmp = () => mkdtempSync(join(tmpdir(), 'mars-journal-'));

/** Opens `dir` and closes it again (unlocks it), returning its records. */
async function records(dir: string, settings: Record<string, unknown> = {}): Promise<TrialRecord[]> {
  const j = await Journal.open(dir, settings, shape);
  j.close();
  return j.records;
}

describe('Journal', () => {
  it('drops a last line cut short, cutting it off the file, and appends after the good lines', async () => {
    const dir = tmp();
    await records(dir);
    const file = join(dir, 'trials.jsonl');
    writeFileSync(file, line(1) + line(2) + line(3).slice(0, 25));
    const j = await Journal.open(dir, {}, shape);
    expect(j.records.map((r) => r.id)).toEqual([1, 2]);
    j.append(record(3));
    j.close();
    expect(readFileSync(file, 'utf8')).toBe(line(1) + line(2) + line(3));
  });

  it('cuts a torn line exactly at the last newline, on bytes, when invalid UTF-8 precedes it', async () => {
    // Decoded first, each invalid byte became a 3-byte replacement character and the cut fell 16 bytes short.
    const dir = tmp();
    await records(dir);
    const file = join(dir, 'trials.jsonl');
    const whole = Buffer.from(line(1) + line(2));
    writeFileSync(file, Buffer.concat([whole, Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0x80, 0x81, 0xff]), Buffer.from('{"id":3,"sta')]));
    expect((await records(dir)).map((r) => r.id)).toEqual([1, 2]);
    expect(readFileSync(file).equals(whole)).toBe(true);
  });

  it.each([
    ['a line that is not JSON', line(1) + '{"oops": true\n' + line(2), /line 2 is not JSON/],
    ['a record without folds', line(1) + JSON.stringify({ ...record(2), folds: undefined }) + '\n', /line 2 .*folds/],
    ['string params', line(1) + line(2, { params: { extractor: '3' } }), /line 2 .*extractor = "3" is not a point of the space/],
    ['params of another space', line(1, { params: { classifier: 2 } }), /line 1 .*params: has classifier; the space has extractor/],
    ['a value outside the space', line(1, { params: { extractor: 50 } }), /line 1 .*extractor = 50/],
    ['trial 0', line(0), /line 1 .*id/],
    ['trial -3', line(1) + line(-3), /line 2 .*id/],
    ['trial 50 of a 5-trial search', line(1) + line(50), /line 2 .*numbered 1\.\.5/],
    ['a trial recorded twice', line(1) + line(2) + line(1), /trial 1 appears twice \(lines 1 and 3\)/],
    ['a complete trial with too few folds', line(1, { folds: [] }), /line 1 .*1 folds of 1 epochs/],
    ['a complete trial without a score', line(1, { score: null }), /line 1 .*has a score/],
    ['invalid UTF-8 in a whole line', Buffer.concat([Buffer.from(line(1)), Buffer.from([0x7b, 0xff, 0x7d, 0x0a])]), /line 2 is not UTF-8 text/],
  ])('refuses %s with ERR_JOURNAL naming the file and line, and leaves the file as it was', async (_what, text, message) => {
    const dir = tmp();
    await records(dir);
    const file = join(dir, 'trials.jsonl');
    const bytes = Buffer.concat([Buffer.from(text), Buffer.from('{"torn')]);
    writeFileSync(file, bytes);
    const refused = Journal.open(dir, {}, shape);
    await expect(refused).rejects.toMatchObject({ code: 'ERR_JOURNAL', message: expect.stringContaining(file) });
    await expect(refused).rejects.toThrow(message);
    expect(readFileSync(file).equals(bytes)).toBe(true);
    // The folder is not left locked by the refusal.
    writeFileSync(file, line(1));
    expect(await records(dir)).toHaveLength(1);
  });

  it('refuses a search.json that is not JSON, or not an object, with ERR_JOURNAL naming it', async () => {
    for (const text of ['{"format": 1, "regul', 'null', '[1, 2]']) {
      const dir = tmp();
      writeFileSync(join(dir, 'search.json'), text);
      await expect(Journal.open(dir, { format: 1 }, shape)).rejects.toMatchObject({ code: 'ERR_JOURNAL', message: expect.stringContaining(join(dir, 'search.json')) });
    }
  });

  it('refuses a folder holding a search with other settings, naming them', async () => {
    const dir = tmp();
    await records(dir, { method: 'mars-sp', trials: [1], seed: 0 });
    await expect(Journal.open(dir, { method: 'l2-sp', trials: [1], seed: 1 }, shape)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/other settings \(method, seed differ\)/),
    });
    appendFileSync(join(dir, 'trials.jsonl'), line(1));
    expect(await records(dir, { method: 'mars-sp', trials: [1], seed: 0 })).toHaveLength(1);
  });

  it('is locked while open: a second search on the folder is refused naming this process, and may open it once closed', async () => {
    const dir = tmp();
    const first = await Journal.open(dir, {}, shape);
    await expect(Journal.open(dir, {}, shape)).rejects.toMatchObject({ code: 'ERR_OUTPUT_DIR', message: expect.stringContaining(`pid ${process.pid}`) });
    first.close();
    expect(await records(dir)).toEqual([]);
  });

  it("accepts every journal the repository's experiments wrote (an independent check of the schema)", async () => {
    const searches = join(ROOT, 'experiments', 'results', 'full', 'search');
    const copy = tmp();
    const config = JSON.parse(readFileSync(join(ROOT, 'experiments', 'full.json'), 'utf8')) as { search: { trials: number } };
    let trials = 0;
    for (const cell of readdirSync(searches).filter((c) => statSync(join(searches, c)).isDirectory())) {
      cpSync(join(searches, cell), join(copy, cell), { recursive: true });
      const settings = JSON.parse(readFileSync(join(copy, cell, 'search.json'), 'utf8')) as {
        space: typeof shape.space; selection: { folds: number }; fineTune: { epochs: number };
      };
      const j = await Journal.open(join(copy, cell), settings, { space: settings.space, trials: config.search.trials, splits: settings.selection.folds, epochs: settings.fineTune.epochs });
      j.close();
      expect(j.records).toHaveLength(readFileSync(join(searches, cell, 'trials.jsonl'), 'utf8').trim().split('\n').length);
      trials += j.records.length;
    }
    expect(trials).toBeGreaterThan(0);
  });
});
