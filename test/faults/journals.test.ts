// The experiment's journal (runs.jsonl) is trusted only as far as it checks
// out. A run recorded twice with other numbers used to win silently, and a
// line of the wrong shape gave a TypeError after results.json had been
// written with nulls; both are now refused with ERR_JOURNAL naming the file
// and the lines, before anything is written. The journals the repository's
// experiments wrote are the independent check that nothing good is refused.
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runExperiment } from '../../lib/experiment/index.js';
import { RunJournal } from '../../lib/experiment/journal.js';
import { ROOT } from '../helpers/paths.js';

const RESULTS = join(ROOT, 'experiments', 'results');

/** A copy of the repository's results of experiment `name`. */
function copyOf(name: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'mars-journals-')), name);
  cpSync(join(RESULTS, name), dir, { recursive: true });
  return dir;
}
const settingsOf = (dir: string): unknown => JSON.parse(readFileSync(join(dir, 'experiment.json'), 'utf8'));
const runLines = (dir: string) => readFileSync(join(dir, 'runs.jsonl'), 'utf8').split('\n').filter((l) => l !== '');

/** Every file under `dir` with its size and modification time. */
function snapshot(dir: string): Record<string, string> {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());
  return Object.fromEntries(files.map((f) => [f, `${statSync(join(dir, f)).size} ${statSync(join(dir, f)).mtimeMs}`]));
}

describe('the experiment journal', () => {
  it.each(['quick', 'full'])("accepts every run the repository's %s experiment recorded (with the blank lines older versions wrote between them)", async (name) => {
    const dir = copyOf(name);
    const journal = await RunJournal.open(dir, settingsOf(dir));
    journal.close();
    const lines = runLines(dir);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const run = JSON.parse(line) as { key: string };
      expect(journal.get(run.key)).toEqual(run);
    }
  });

  it('refuses a run recorded twice with different results, naming both lines; the same line twice is accepted', async () => {
    const dir = copyOf('quick');
    const [first] = runLines(dir) as [string];
    const changed = JSON.stringify({ ...(JSON.parse(first) as object), testAccuracy: 0.9 });
    writeFileSync(join(dir, 'runs.jsonl'), `${first}\n${first}\n`);
    (await RunJournal.open(dir, settingsOf(dir))).close();
    writeFileSync(join(dir, 'runs.jsonl'), `${first}\n\n${changed}\n`);
    await expect(RunJournal.open(dir, settingsOf(dir))).rejects.toMatchObject({
      code: 'ERR_JOURNAL', message: expect.stringMatching(/runs\.jsonl: run .* appears twice with different results \(lines 1 and 3\)/),
    });
  });

  it.each([
    ['a number as text', (r: Record<string, unknown>) => ({ ...r, testAccuracy: '0.72' }), /testAccuracy/],
    ['a missing field', ({ distances: _d, ...r }: Record<string, unknown>) => r, /distances/],
    ['an accuracy above 1', (r: Record<string, unknown>) => ({ ...r, trainAccuracy: 72 }), /trainAccuracy/],
    ['an unknown row', (r: Record<string, unknown>) => ({ ...r, row: 'magic' }), /row/],
    ['a setting no run takes', (r: Record<string, unknown>) => ({ ...r, setting: { regulariser: { method: 'magic' }, optimizer: {} } }), /setting\.regulariser/],
  ])('refuses a line with %s before anything is written: runExperiment rejects with ERR_JOURNAL, the folder as it was', async (_what, damage, field) => {
    const dir = copyOf('full');
    const lines = runLines(dir);
    lines[2] = JSON.stringify(damage(JSON.parse(lines[2]!) as Record<string, unknown>));
    writeFileSync(join(dir, 'runs.jsonl'), lines.join('\n') + '\n');
    const before = snapshot(dir);
    const refused = runExperiment({ config: join(ROOT, 'experiments', 'full.json'), out: dir });
    await expect(refused).rejects.toMatchObject({ code: 'ERR_JOURNAL', message: expect.stringContaining(`${join(dir, 'runs.jsonl')}: line 3 is not a record`) });
    await expect(refused).rejects.toThrow(field);
    expect(snapshot(dir)).toEqual(before);
  });
});
