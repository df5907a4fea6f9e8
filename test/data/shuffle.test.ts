import { describe, expect, it, vi } from 'vitest';
import { DataLoader, fromArrays, openImageFolder, horizontalFlip, randomCrop, randomResizedCrop, type Batch } from '../../lib/data/index.js';
import { collect, toBytes } from './helpers/collect.js';
import { writeImages } from './helpers/images.js';
import { tempDir } from './helpers/tmp.js';

// Item i is a 4×4 grey image whose every pixel is i mod 256 and whose label is i mod 7, so a batch can be checked against its indices.
const N = 1003;
const items = fromArrays({
  pixels: Uint8Array.from({ length: N * 16 }, (_, k) => Math.floor(k / 16) % 256),
  labels: Array.from({ length: N }, (_, i) => i % 7),
  width: 4,
  height: 4,
  channels: 1,
});
const indicesOf = (batches: Batch[]) => batches.flatMap((b) => [...b.indices]);

describe('epoch order', () => {
  it('visits every item exactly once per epoch, with matching pixels and labels', async () => {
    const loader = new DataLoader(items, { batchSize: 64, seed: 5 });
    for (const epoch of [0, 1, 2]) {
      const batches = await collect(loader.epoch(epoch));
      expect(indicesOf(batches).sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
      expect(batches.map((b) => b.shape[0])).toEqual([...Array<number>(15).fill(64), N - 15 * 64]);
      for (const b of batches) {
        const bytes = toBytes(b.inputs);
        b.indices.forEach((index, k) => {
          expect(bytes.subarray(k * 16, (k + 1) * 16).every((v) => v === index % 256)).toBe(true);
          expect(b.labels[k]).toBe(index % 7);
        });
      }
    }
  });

  it('same seed, same batches; another seed or epoch, another order', async () => {
    const run = (seed: number, epoch: number) => collect(new DataLoader(items, { batchSize: 64, seed }).epoch(epoch));
    const a = await run(1, 0);
    expect(await run(1, 0)).toEqual(a);
    expect(indicesOf(await run(2, 0))).not.toEqual(indicesOf(a));
    expect(indicesOf(await run(1, 1))).not.toEqual(indicesOf(a));
  });

  it('keeps dataset order without shuffle, and drops the short batch with dropLast', async () => {
    const batches = await collect(new DataLoader(items, { batchSize: 100, shuffle: false, dropLast: true }).epoch(3));
    expect(batches).toHaveLength(10);
    expect(indicesOf(batches)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('decodes no further than the prefetch depth ahead of a slow consumer, and stops on break', async () => {
    const ref = vi.spyOn(items, 'ref');
    try {
      const [batchSize, prefetch, concurrency] = [10, 2, 4];
      // Consumed, queued, one being filled, and the decodes in flight (one more while the head is awaited).
      const bound = batchSize + prefetch * batchSize + batchSize + concurrency + 1;
      for await (const _ of new DataLoader(items, { batchSize, prefetch, concurrency }).epoch(0)) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(ref.mock.calls.length).toBeLessThanOrEqual(bound);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(ref.mock.calls.length).toBeLessThanOrEqual(bound);
    } finally {
      ref.mockRestore();
    }
  });
});

describe('random augmentation', () => {
  const root = tempDir();
  writeImages(
    root,
    Array.from({ length: 24 }, (_, i) => ({ path: `c${i % 3}/${i}.png`, mode: 'RGB' as const, format: 'PNG' as const, width: 40, height: 30, seed: i })),
  );
  const transforms = [randomResizedCrop(16), randomCrop(12), horizontalFlip()];

  it('is reproducible whatever the decode concurrency, and changes with the seed and epoch', async () => {
    const ds = await openImageFolder(root);
    const run = (seed: number, epoch: number, concurrency: number) =>
      collect(new DataLoader(ds, { batchSize: 5, seed, concurrency, transforms }).epoch(epoch));
    const a = await run(9, 0, 1);
    expect(await run(9, 0, 8)).toEqual(a);
    // Item by item, so that only the crops and flips are compared, not the order.
    const byIndex = (batches: Batch[]) => {
      const items = new Map<number, number[]>();
      for (const b of batches) b.indices.forEach((index, k) => items.set(index, [...b.inputs.subarray(k * 432, (k + 1) * 432)]));
      return [...items].sort((x, y) => x[0] - y[0]);
    };
    expect(byIndex(await run(9, 0, 4))).toEqual(byIndex(a));
    expect(byIndex(await run(9, 1, 4))).not.toEqual(byIndex(a));
    expect(byIndex(await run(10, 0, 4))).not.toEqual(byIndex(a));
  });
});
