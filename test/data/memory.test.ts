import { execFile } from 'node:child_process';
import { linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.js';
import { tempDir } from './helpers/tmp.js';

/** The bound docs/data.md states for this setting (32×32 JPEGs, batch 64, prefetch 2, default concurrency) over the process with LibTorch loaded. */
const STREAMING_BOUND = 80 * 2 ** 20;
/** 18,000 more items may add their paths (~100 B each); keeping a decoded item (3 KB) or a batch per item would add far more. */
const DATASET_SIZE_BOUND = 8 * 2 ** 20;
/** Five more epochs (10,000 decodes) may not add more than allocator noise. */
const EPOCHS_BOUND = 4 * 2 ** 20;

interface Report {
  items: number;
  base: number;
  peak: number;
  afterEpoch: number[];
}

describe('streaming memory', () => {
  const root = tempDir();
  // The compiled package (npm run build), as a user's process would load it.
  const dist = join(ROOT, 'dist');

  beforeAll(async () => {
    // 200 distinct noise JPEGs from sharp, written as 20,000 files in 10 classes; the first 2,000 also form the small set.
    const jpegs = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        sharp(Buffer.from(Array.from({ length: 32 * 32 * 3 }, (_, k) => (k * 2654435761 + i * 40503) >>> 24)), {
          raw: { width: 32, height: 32, channels: 3 },
        })
          .jpeg()
          .toBuffer(),
      ),
    );
    for (const set of ['large', 'small']) for (let c = 0; c < 10; c++) mkdirSync(join(root, set, `c${c}`), { recursive: true });
    for (let i = 0; i < 20000; i++) {
      const file = join(`c${i % 10}`, `${i}.jpg`);
      writeFileSync(join(root, 'large', file), jpegs[i % jpegs.length]!);
      if (i < 2000) linkSync(join(root, 'large', file), join(root, 'small', file));
    }
  }, 60_000);

  /**
   * Each run decodes 20,000 items, so that the only difference between them is the dataset's size. V8's young
   * generation is pinned at its default maximum (16 MB semi-spaces): it otherwise grows in one step at an
   * unpredictable point of a run, which would be mistaken for the loader's doing.
   */
  const stream = async (set: string, epochs: number): Promise<Report> => {
    const child = fileURLToPath(new URL('helpers/stream-child.mjs', import.meta.url));
    const flags = ['--min-semi-space-size=16', '--max-semi-space-size=16'];
    const { stdout } = await promisify(execFile)(process.execPath, [...flags, child, dist, join(root, set), String(epochs)]);
    return JSON.parse(stdout) as Report;
  };

  it('peaks under the stated bound, the same for 2,000 and 20,000 items', async () => {
    const small = await stream('small', 10);
    const large = await stream('large', 1);
    expect(small.items).toBe(20000);
    expect(large.items).toBe(20000);
    expect(small.peak - small.base).toBeLessThan(STREAMING_BOUND);
    expect(large.peak - large.base).toBeLessThan(STREAMING_BOUND);
    expect(Math.abs(large.peak - small.peak)).toBeLessThan(DATASET_SIZE_BOUND);
    expect(small.afterEpoch[9]! - small.afterEpoch[4]!).toBeLessThan(EPOCHS_BOUND);
  }, 120_000);
});
