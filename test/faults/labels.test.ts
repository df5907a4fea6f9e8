// Labels a user can get wrong: one absurd integer label built an array of a
// billion class names (heap exhausted after 108 s); negative and fractional
// CSV labels became class names. Each is now a coded error at once.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromArrays, openManifest } from '../../lib/index.js';
import { fixturePath } from '../helpers/fixtures.js';
import { CLI } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'mars-labels-'));
const manifest = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

async function refused(open: () => Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const started = performance.now();
  await expect(open()).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
  expect(performance.now() - started).toBeLessThan(1000);
}

describe('integer labels', () => {
  it('one absurd label in a JSONL manifest: ERR_DATA_LABEL at once', async () => {
    const file = manifest('absurd.jsonl', '{"path": "a.png", "label": 0}\n{"path": "b.png", "label": 99999999999}\n');
    await refused(() => openManifest(file), 'ERR_DATA_LABEL', /absurd\.jsonl:2: label 99999999999 is not an integer in 0\.\.2147483647/);
  });

  it('the same in CSV', async () => {
    const file = manifest('absurd.csv', 'path,label\na.png,0\nb.png,99999999999\n');
    await refused(() => openManifest(file), 'ERR_DATA_LABEL', /absurd\.csv:3: label 99999999999/);
  });

  it('a large label that fits int32 but leaves classes empty: ERR_DATA_EMPTY_CLASS at once', async () => {
    const file = manifest('sparse.csv', 'path,label\na.png,0\nb.png,2000000000\n');
    await refused(() => openManifest(file), 'ERR_DATA_EMPTY_CLASS', /label 2000000000 means at least 2000000001 classes, but there are only 2 items/);
  });

  it('in arrays: beyond int32, and beyond the class names given', () => {
    const pixels = new Uint8Array(2 * 4);
    expect(() => fromArrays({ pixels, labels: [0, 2 ** 40], width: 2, height: 2, channels: 1 })).toThrow(expect.objectContaining({ code: 'ERR_DATA_LABEL' }));
    expect(() => fromArrays({ pixels, labels: [0, 2], width: 2, height: 2, channels: 1, classNames: ['a', 'b'] })).toThrow(expect.objectContaining({ code: 'ERR_DATA_LABEL' }));
  });
});

describe('CSV labels that read as numbers (docs/data.md: ERR_DATA_LABEL)', () => {
  it.each([
    ['negative', '-1'],
    ['fractional', '1.5'],
  ])('%s', async (_what, label) => {
    const file = manifest(`n${label}.csv`, `path,label\na.png,0\nb.png,${label}\nc.png,1\n`);
    await refused(() => openManifest(file), 'ERR_DATA_LABEL', new RegExp(`label ${label.replace('.', '\\.')} is not an integer`));
  });

  it('names mixed with numbers', async () => {
    const file = manifest('mixed.csv', 'path,label\na.png,0\nb.png,cat\n');
    await refused(() => openManifest(file), 'ERR_DATA_LABEL', /"cat" is a name, but other labels are numbers/);
  });
});

it('mars-ft finetune with an absurd manifest label exits with ERR_DATA_LABEL in seconds', () => {
  const file = manifest('cli.csv', 'path,label\na.png,0\nb.png,99999999999\n');
  const started = performance.now();
  const r = spawnSync(process.execPath, [CLI, 'finetune', '--backbone', fixturePath('bn_resnet'), '--train', file, '--test', file, '--out', join(dir, 'out')],
    { encoding: 'utf8', timeout: 60_000 });
  expect(r.signal).toBeNull();
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/\[ERR_DATA_LABEL\]/);
  expect((performance.now() - started) / 1000).toBeLessThan(10);
});
