import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataLoader, fromArrays, openDataset, parseDataSpec, type ArraySource, type Dataset } from '../../lib/data/index.js';
import { collect, toBytes } from './helpers/collect.js';
import { writeImages } from './helpers/images.js';
import { python } from './helpers/python.js';
import { tempDir } from './helpers/tmp.js';

const root = tempDir();
const labelsOf = (ds: Dataset) => Array.from({ length: ds.size }, (_, i) => ds.label(i));

describe('parseDataSpec', () => {
  it.each([
    ['data/train', { kind: 'folder', path: 'data/train' }],
    ['idx:a/img.gz,a/lbl', { kind: 'idx', images: 'a/img.gz', labels: 'a/lbl' }],
    ['list.csv', { kind: 'manifest', path: 'list.csv' }],
    ['dir/LIST.JSONL', { kind: 'manifest', path: 'dir/LIST.JSONL' }],
  ])('%s', (spec, parsed) => expect(parseDataSpec(spec)).toEqual(parsed));

  it.each(['idx:only-images', 'idx:a,b,c', 'idx:,b', ''])('rejects "%s"', (spec) => {
    expect(() => parseDataSpec(spec)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});

describe('IDX specs', () => {
  // numpy writes the files: 6 images of 3×2 with labels 0..2, plain and gzipped, and broken variants.
  const truth = python<number[]>(
    `
import gzip, json, struct, sys, numpy as np
root = json.load(sys.stdin)
images = np.arange(6 * 2 * 3, dtype=np.uint8).reshape(6, 2, 3) * 3
labels = np.array([2, 0, 1, 1, 0, 2], np.uint8)
def idx(array): return struct.pack('>BBBB', 0, 0, 8, array.ndim) + struct.pack(f'>{array.ndim}I', *array.shape) + array.tobytes()
for name, blob in [('images', idx(images)), ('labels', idx(labels)), ('labels5', idx(labels[:5])), ('bad', idx(labels)[:-1] )]:
    open(f'{root}/{name}', 'wb').write(blob)
    open(f'{root}/{name}.gz', 'wb').write(gzip.compress(blob))
print(json.dumps(images.reshape(-1).tolist()))
`,
    root,
  );

  it.each(['', '.gz'])('reads images and labels (%s)', async (ext) => {
    const ds = await openDataset(`idx:${root}/images${ext},${root}/labels${ext}`);
    expect(labelsOf(ds)).toEqual([2, 0, 1, 1, 0, 2]);
    const [batch] = await collect(new DataLoader(ds, { shuffle: false, batchSize: 6 }).epoch(0));
    expect(batch!.shape).toEqual([6, 1, 2, 3]);
    expect([...toBytes(batch!.inputs)]).toEqual(truth);
  });

  it('selects classes and relabels them', async () => {
    const ds = await openDataset(`idx:${root}/images.gz,${root}/labels`, { classes: [2, 1] });
    expect(labelsOf(ds)).toEqual([0, 1, 1, 0]);
  });

  it('image and label counts that disagree', async () => {
    await expect(openDataset(`idx:${root}/images,${root}/labels5.gz`)).rejects.toMatchObject({
      code: 'ERR_DATA',
      message: expect.stringMatching(/6 images but .* 5 labels/),
    });
  });

  it('a truncated file, a missing file, a class that does not exist', async () => {
    await expect(openDataset(`idx:${root}/images,${root}/bad.gz`)).rejects.toMatchObject({ code: 'ERR_DATA_FILE' });
    await expect(openDataset(`idx:${root}/images,${root}/none`)).rejects.toMatchObject({ code: 'ERR_DATA_FILE' });
    await expect(openDataset(`idx:${root}/images,${root}/labels`, { classes: [3] })).rejects.toMatchObject({ code: 'ERR_DATA_LABEL' });
  });
});

describe('manifests', () => {
  writeImages(
    root,
    ['x, y.png', 'b.png', 'sub/c.png'].map((path, seed) => ({ path: `m/${path}`, mode: 'RGB' as const, format: 'PNG' as const, width: 4, height: 3, seed })),
  );
  const write = (name: string, text: string) => {
    writeFileSync(join(root, name), text);
    return join(root, name);
  };

  it('CSV with a header, quoted paths and class names, relative to the manifest', async () => {
    const file = write('list.csv', 'label,path,note\r\ncat,"m/x, y.png",first\r\ndog,m/b.png,\r\ncat,m/sub/c.png,"a ""quoted"" note"\r\n');
    const ds = await openDataset(file);
    expect(ds.classNames).toEqual(['cat', 'dog']);
    expect(labelsOf(ds)).toEqual([0, 1, 0]);
    expect(ds.key(0)).toBe(join(root, 'm/x, y.png'));
    expect((await collect(new DataLoader(ds, { batchSize: 3 }).epoch(0)))[0]!.shape).toEqual([3, 3, 3, 4]);
  });

  it('CSV and JSONL with integer labels', async () => {
    const csv = await openDataset(write('ints.csv', 'path,label\nm/b.png,1\nm/sub/c.png,0\n'));
    expect(csv.classNames).toEqual(['0', '1']);
    expect(labelsOf(csv)).toEqual([1, 0]);
    const jsonl = await openDataset(write('ints.jsonl', '{"path": "m/b.png", "label": 1}\n\n{"path": "m/sub/c.png", "label": 0}\n'));
    expect(labelsOf(jsonl)).toEqual([1, 0]);
  });

  it.each([
    ['negative.jsonl', '{"path": "m/b.png", "label": -1}\n', 'ERR_DATA_LABEL'],
    ['mixed.jsonl', '{"path": "m/b.png", "label": 0}\n{"path": "m/b.png", "label": "cat"}\n', 'ERR_DATA_LABEL'],
    ['fraction.jsonl', '{"path": "m/b.png", "label": 0.5}\n', 'ERR_DATA_LABEL'],
    ['gap.jsonl', '{"path": "m/b.png", "label": 0}\n{"path": "m/b.png", "label": 2}\n', 'ERR_DATA_EMPTY_CLASS'],
    ['nopath.jsonl', '{"label": 0}\n', 'ERR_DATA'],
    ['broken.jsonl', '{"path": \n', 'ERR_DATA'],
    ['noheader.csv', 'm/b.png,1\n', 'ERR_DATA'],
    ['empty.csv', 'path,label\n', 'ERR_DATA'],
  ])('%s is rejected', async (name, text, code) => {
    await expect(openDataset(write(name, text))).rejects.toMatchObject({ code });
  });

  it('a missing manifest', async () => {
    await expect(openDataset(join(root, 'missing.csv'))).rejects.toMatchObject({ code: 'ERR_DATA_FILE' });
  });

  it('a listed file that is missing is skipped at load time, like a corrupt one', async () => {
    const ds = await openDataset(write('missing-item.csv', 'path,label\nm/b.png,0\nm/gone.png,0\n'));
    const skipped: string[] = [];
    const batches = await collect(new DataLoader(ds, { onSkipped: (s) => skipped.push(...s.items.map((i) => i.key)) }).epoch(0));
    expect(batches.map((b) => b.shape[0])).toEqual([1]);
    expect(skipped).toEqual([join(root, 'm/gone.png')]);
  });
});

describe('in-memory arrays', () => {
  const pixels = new Uint8Array(2 * 3 * 3);
  it.each([
    ['too few bytes for the labels', { pixels, labels: [0, 1, 0], width: 3, height: 1, channels: 3 }, 'ERR_DATA'],
    ['a label outside the classes', { pixels, labels: [0, 2], width: 3, height: 1, channels: 3, classNames: ['a', 'b'] }, 'ERR_DATA_LABEL'],
    ['a fractional label', { pixels, labels: [0, 0.5], width: 3, height: 1, channels: 3 }, 'ERR_DATA_LABEL'],
    ['a negative label', { pixels, labels: [0, -1], width: 3, height: 1, channels: 3 }, 'ERR_DATA_LABEL'],
    ['two channels', { pixels, labels: [0, 1, 0], width: 3, height: 1, channels: 2 }, 'ERR_INVALID_ARGUMENT'],
  ])('%s is rejected', (_, source, code) => {
    expect(() => fromArrays(source as ArraySource)).toThrow(expect.objectContaining({ code }));
  });
});
