import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { hasCode } from '../../lib/errors.js';
import { centerCrop, DataLoader, openImageFolder, resize, type SkipSummary } from '../../lib/data/index.js';
import { collect, toBytes } from './helpers/collect.js';
import { writeImages, type ImageSpec } from './helpers/images.js';
import { python } from './helpers/python.js';
import { tempDir } from './helpers/tmp.js';

const image = (path: string, mode: ImageSpec['mode'], format: ImageSpec['format'], seed: number): ImageSpec => ({
  path,
  mode,
  format,
  seed,
  width: 20,
  height: 16,
});

describe('image folder', () => {
  const root = tempDir();
  // Nested folders whose sorted paths differ from a depth-first walk ("sub-x" sorts before "sub/deeper").
  writeImages(root, [
    image('cat/b.png', 'RGB', 'PNG', 1),
    image('cat/a.webp', 'RGB', 'WEBP', 2),
    image('cat/sub/c.png', 'L', 'PNG', 3),
    image('cat/sub/deeper/d.png', 'RGBA', 'PNG', 4),
    image('cat/sub-x/e.jpg', 'RGB', 'JPEG', 5),
    image('dog/f.jpg', 'L', 'JPEG', 6),
    image('dog/g.png', 'RGB', 'PNG', 7),
  ]);

  // torchvision's ImageFolder and PIL's convert('RGB') on the same files.
  const truth = python<{ classes: string[]; samples: [string, number][]; pixels: number[] }>(
    `
import json, sys, numpy as np, torchvision
from PIL import Image
folder = torchvision.datasets.ImageFolder(json.load(sys.stdin))
pixels = [np.asarray(Image.open(p).convert('RGB')).transpose(2, 0, 1).reshape(-1) for p, _ in folder.samples]
print(json.dumps(dict(classes=folder.classes, samples=folder.samples, pixels=np.concatenate(pixels).tolist())))
`,
    root,
  );

  it('orders classes and files as ImageFolder does', async () => {
    const ds = await openImageFolder(root);
    expect(ds.classNames).toEqual(truth.classes);
    expect(Array.from({ length: ds.size }, (_, i) => [ds.key(i), ds.label(i)])).toEqual(truth.samples);
    expect(ds.classCounts()).toEqual([5, 2]);
  });

  it('decodes JPEG, PNG, WebP, grey and RGBA to the RGB pixels PIL reads', async () => {
    const ds = await openImageFolder(root);
    const [batch] = await collect(new DataLoader(ds, { batchSize: ds.size, shuffle: false }).epoch(0));
    expect(batch!.shape).toEqual([7, 3, 16, 20]);
    expect([...toBytes(batch!.inputs)]).toEqual(truth.pixels);
  });
});

describe('unreadable files', () => {
  const root = tempDir();
  writeImages(root, [image('a/1.png', 'RGB', 'PNG', 1), image('a/3.png', 'RGB', 'PNG', 3), image('b/4.png', 'RGB', 'PNG', 4)]);
  writeImages(root, [image('a/2.jpg', 'RGB', 'JPEG', 2)]);
  const corrupt = join(root, 'a/2.jpg');
  const jpeg = readFileSync(corrupt);
  writeFileSync(corrupt, jpeg.subarray(0, jpeg.length >> 1)); // truncated mid-scan
  const notImage = join(root, 'b/notes.txt');
  writeFileSync(notImage, 'not an image\n');

  it('skips a corrupt JPEG and a non-image, counts them and finishes the epoch', async () => {
    const ds = await openImageFolder(root);
    expect(ds.size).toBe(5);
    const summaries: SkipSummary[] = [];
    const loader = new DataLoader(ds, { batchSize: 2, seed: 1, onSkipped: (s) => summaries.push(s) });
    const batches = await collect(loader.epoch(4));
    expect(batches.flatMap((b) => [...b.indices]).sort()).toEqual([0, 2, 3]);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.epoch).toBe(4);
    expect(summaries[0]!.count).toBe(2);
    expect(summaries[0]!.items.map((s) => s.key).sort()).toEqual([corrupt, notImage]);
  });

  it('warns through the process by default', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      await collect(new DataLoader(await openImageFolder(root), { batchSize: 4 }).epoch(0));
      expect(warn).toHaveBeenCalledOnce();
      expect(String(warn.mock.calls[0]![0])).toMatch(/skipped 2 unreadable items/);
    } finally {
      warn.mockRestore();
    }
  });

  it('with onError "fail" stops at the first bad file and names it', async () => {
    const loader = new DataLoader(await openImageFolder(root), { batchSize: 2, shuffle: false, onError: 'fail' });
    const error = await collect(loader.epoch(0)).catch((e: unknown) => e);
    expect(hasCode(error, 'ERR_DATA_FILE')).toBe(true);
    expect((error as Error).message).toContain(corrupt);
  });
});

describe('items of different sizes', () => {
  const root = tempDir();
  writeImages(root, [image('a/small.png', 'RGB', 'PNG', 1), { ...image('b/large.png', 'RGB', 'PNG', 2), width: 40, height: 32 }]);

  it('cannot share a batch without a resize or crop: an error whatever the policy', async () => {
    const loader = new DataLoader(await openImageFolder(root), { shuffle: false });
    await expect(collect(loader.epoch(0))).rejects.toMatchObject({ code: 'ERR_DATA_SIZE', message: expect.stringMatching(/large\.png is 32×40 .* 16×20/) });
  });

  it('share one after a resize; an image too small for a crop is skipped like a bad file', async () => {
    const ds = await openImageFolder(root);
    expect((await collect(new DataLoader(ds, { transforms: [resize([8, 8])] }).epoch(0)))[0]!.shape).toEqual([2, 3, 8, 8]);
    const skipped: string[] = [];
    const batches = await collect(new DataLoader(ds, { transforms: [centerCrop(24)], onSkipped: (s) => skipped.push(...s.items.map((i) => i.reason)) }).epoch(0));
    expect(batches.map((b) => [...b.indices])).toEqual([[1]]);
    expect(skipped).toEqual([expect.stringMatching(/centerCrop 24×24 does not fit the 16×20 image/)]);
  });
});

describe('folder errors, before any training', () => {
  const root = tempDir();

  it('a missing folder', async () => {
    await expect(openImageFolder(join(root, 'nope'))).rejects.toMatchObject({ code: 'ERR_DATA_FILE' });
  });

  it('a folder without class subfolders', async () => {
    mkdirSync(join(root, 'flat'));
    writeFileSync(join(root, 'flat/x.png'), '');
    await expect(openImageFolder(join(root, 'flat'))).rejects.toMatchObject({ code: 'ERR_DATA' });
  });

  it('an empty class', async () => {
    writeImages(root, [image('classes/full/x.png', 'RGB', 'PNG', 1)]);
    mkdirSync(join(root, 'classes/empty'));
    await expect(openImageFolder(join(root, 'classes'))).rejects.toMatchObject({
      code: 'ERR_DATA_EMPTY_CLASS',
      message: expect.stringContaining('empty'),
    });
  });
});
