// Data a hostile or careless user can hand the loader (issue 25): a FIFO, a
// symbolic link loop, a link to the parent folder, an unreadable folder, a
// PNG whose header claims billions of pixels, a batch size of a billion. Each
// is skipped or refused with a coded error, in seconds, within bounded memory.
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DataLoader, fromArrays, openImageFolder, type Dataset, type SkippedItem } from '../../lib/data/index.js';
import { fixturePath } from '../helpers/fixtures.js';
import { CLI, ROOT } from '../helpers/paths.js';
import { collect } from './helpers/collect.js';
import { lyingPng } from './helpers/png.js';
import { tempDir } from './helpers/tmp.js';

const DIST = join(ROOT, 'dist');
const GiB = 2 ** 30;
/** sharp's limitInputPixels, the loader's default maxPixels. */
const LIMIT = '268,402,689';

/** A 28×28 RGB PNG of one colour. */
const png = (shade: number) => sharp({ create: { width: 28, height: 28, channels: 3, background: { r: shade, g: 255 - shade, b: 90 } } }).png().toBuffer();

/** mkfifo(1): Node cannot make a FIFO itself. */
const mkfifo = (path: string) => promisify(execFile)('mkfifo', [path]);

const keys = (ds: Dataset, root: string) => Array.from({ length: ds.size }, (_, i) => [ds.key(i).slice(root.length + 1), ds.label(i)]);

describe('files that are not images', () => {
  const root = tempDir();
  const warm = join(root, 'warm');
  const folder = join(root, 'hostile');

  beforeAll(async () => {
    mkdirSync(join(warm, 'a'), { recursive: true });
    writeFileSync(join(warm, 'a', 'good.png'), await png(10));
    mkdirSync(join(folder, 'a'), { recursive: true });
    writeFileSync(join(folder, 'a', 'good.png'), await png(20));
    await mkfifo(join(folder, 'a', 'fifo.png'));
    writeFileSync(join(folder, 'a', 'tall.png'), lyingPng(28, 200_000_000));
    writeFileSync(join(folder, 'a', 'taller.png'), lyingPng(28, 2 ** 31 - 1));
    writeFileSync(join(folder, 'a', 'wide.png'), lyingPng(2 ** 31, 1));
    // Within the limit: the decoders may start, but only the data that exist may cost memory.
    writeFileSync(join(folder, 'a', 'within.png'), lyingPng(16_000, 16_000));
  });

  /** One epoch of the hostile folder in a child process (a hang there cannot stall the suite), with its peak memory. */
  const run = async (decoder: 'auto' | 'sharp') => {
    const child = fileURLToPath(new URL('helpers/hostile-child.mjs', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [child, DIST, warm, folder, decoder], { timeout: 60_000, killSignal: 'SIGKILL' });
    return JSON.parse(stdout) as { items: number; skipped: { file: string; reason: string }[]; ms: number; growth: number };
  };

  it.each(['auto', 'sharp'] as const)('are skipped with their reason, at once and in little memory (decoder %s)', async (decoder) => {
    const r = await run(decoder);
    expect(r.items).toBe(1);
    const reasons = Object.fromEntries(r.skipped.map((s) => [s.file, s.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['a/fifo.png', 'a/tall.png', 'a/taller.png', 'a/wide.png', 'a/within.png']);
    expect(reasons['a/fifo.png']).toBe(`'${join(folder, 'a', 'fifo.png')}' is not a regular file (a FIFO, a socket or a device), so it is not read`);
    if (decoder === 'auto') {
      expect(reasons['a/tall.png']).toBe(`the image is 28×200000000 = 5,600,000,000 pixels, over the limit of ${LIMIT}; the option maxPixels (mars-ft: --max-pixels) raises it`);
      expect(reasons['a/taller.png']).toBe(`the image is 28×2147483647 = 60,129,542,116 pixels, over the limit of ${LIMIT}; the option maxPixels (mars-ft: --max-pixels) raises it`);
      // 2^31 is past the PNG specification's range (and would turn negative as an int).
      expect(reasons['a/wide.png']).toBe('not a readable PNG: its size is out of range');
    } else {
      // libvips refuses sides above 10,000,000 itself, reading the header.
      for (const file of ['tall', 'taller', 'wide']) expect(reasons[`a/${file}.png`]).toMatch(/^Input buffer has corrupt header/);
    }
    // libvips words a truncated PNG one of three ways, depending on how far its reader got.
    expect(reasons['a/within.png']).toMatch(/Not enough image data|libpng read error|Warning treated as error due to failOn/);
    expect(r.ms).toBeLessThan(1000);
    expect(r.growth).toBeLessThan(GiB / 4);
  });
});

describe('the pixel limit', () => {
  const root = tempDir();
  beforeAll(async () => {
    mkdirSync(join(root, 'a'));
    writeFileSync(join(root, 'a', 'x.png'), await sharp({ create: { width: 20, height: 16, channels: 3, background: 'red' } }).png().toBuffer());
    writeFileSync(join(root, 'a', 'y.jpg'), await sharp({ create: { width: 20, height: 16, channels: 3, background: 'blue' } }).jpeg().toBuffer());
  });

  it.each(['auto', 'sharp'] as const)('admits an image of exactly maxPixels and skips one pixel more (decoder %s)', async (decoder) => {
    const ds = await openImageFolder(root);
    const at = await collect(new DataLoader(ds, { decoder, maxPixels: 320 }).epoch(0));
    expect(at.map((b) => b.shape)).toEqual([[2, 3, 16, 20]]);
    const skipped: SkippedItem[] = [];
    await expect(collect(new DataLoader(ds, { decoder, maxPixels: 319, onSkipped: (s) => skipped.push(...s.items) }).epoch(0))).rejects.toMatchObject({ code: 'ERR_DATA' });
    expect(skipped.map((s) => s.reason)).toEqual(Array(2).fill('the image is 20×16 = 320 pixels, over the limit of 319; the option maxPixels (mars-ft: --max-pixels) raises it'));
  });

  it('is a whole number of pixels, at most 2^53 - 1', () => {
    const ds = fromArrays({ pixels: new Uint8Array(4), labels: [0], width: 2, height: 2, channels: 1 });
    expect(new DataLoader(ds, { maxPixels: Number.MAX_SAFE_INTEGER }).options.maxPixels).toBe(Number.MAX_SAFE_INTEGER);
    expect(new DataLoader(ds).options.maxPixels).toBe(0x3fff * 0x3fff);
    for (const maxPixels of [0.5, 0, 2 ** 53]) expect(() => new DataLoader(ds, { maxPixels })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});

describe('symbolic links in an image folder', () => {
  const root = tempDir();
  const pool = join(root, 'pool');
  const data = join(root, 'data');

  beforeAll(async () => {
    for (const dir of ['a/sub', 'b', 'c']) mkdirSync(join(data, dir), { recursive: true });
    mkdirSync(pool);
    writeFileSync(join(data, 'a', '1.png'), await png(1));
    writeFileSync(join(data, 'a', 'sub', '2.png'), await png(2));
    writeFileSync(join(data, 'b', '3.png'), await png(3));
    writeFileSync(join(data, 'b', '4.png'), await png(4));
    writeFileSync(join(data, 'c', '5.png'), await png(5));
    writeFileSync(join(pool, '6.png'), await png(6));
    symlinkSync('.', join(data, 'a', 'loop1')); // loops: walked once
    symlinkSync('.', join(data, 'a', 'loop2'));
    symlinkSync('..', join(data, 'a', 'up')); // the data folder: b's images would become a's
    symlinkSync('../../b', join(data, 'a', 'sub', 'other')); // another class
    symlinkSync('sub', join(data, 'a', 'alias')); // a folder inside the class, walked already
    symlinkSync('sub/2.png', join(data, 'a', 'same.png')); // a file inside the class: an item
    symlinkSync(join(pool, '6.png'), join(data, 'c', 'pooled.png')); // a file elsewhere: an item
    symlinkSync('missing.png', join(data, 'c', 'broken.png')); // an item that will not load
  });

  it('walks each folder once, keeps links to files and leaves out links to folders outside the class, with a warning', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const ds = await openImageFolder(data);
      expect(keys(ds, data)).toEqual([
        ['a/1.png', 0], ['a/same.png', 0], ['a/sub/2.png', 0],
        ['b/3.png', 1], ['b/4.png', 1],
        ['c/5.png', 2], ['c/broken.png', 2], ['c/pooled.png', 2],
      ]);
      expect(warn).toHaveBeenCalledOnce();
      const [message, options] = warn.mock.calls[0]! as [string, { code: string }];
      expect(options.code).toBe('MARS_DATA_LINKS');
      expect(message).toContain('left out 2 symbolic links to folders outside their class folders');
      expect(message).toContain(join(data, 'a', 'up'));
      expect(message).toContain(join(data, 'a', 'sub', 'other'));
    } finally {
      warn.mockRestore();
    }
  }, 10_000);

  it('refuses class folders that share images', async () => {
    const shared = join(root, 'shared');
    mkdirSync(join(shared, 'a'), { recursive: true });
    writeFileSync(join(shared, 'a', '1.png'), await png(1));
    symlinkSync('a', join(shared, 'b'));
    await expect(openImageFolder(shared)).rejects.toMatchObject({ code: 'ERR_DATA', message: expect.stringContaining(`class folders ${join(shared, 'a')} and ${join(shared, 'b')} share images`) });
    const above = join(root, 'above');
    mkdirSync(join(above, 'a'), { recursive: true });
    writeFileSync(join(above, 'a', '1.png'), await png(1));
    symlinkSync('.', join(above, 'all'));
    await expect(openImageFolder(above)).rejects.toMatchObject({ code: 'ERR_DATA', message: expect.stringContaining(`${join(above, 'all')} and ${join(above, 'a')}`) });
  });
});

describe('an unreadable folder', () => {
  const root = tempDir();

  it('is ERR_DATA_FILE naming it', async () => {
    mkdirSync(join(root, 'data', 'a', 'locked'), { recursive: true });
    writeFileSync(join(root, 'data', 'a', '1.png'), await png(1));
    chmodSync(join(root, 'data', 'a', 'locked'), 0);
    chmodSync(root, 0o755);
    // Root reads any folder: the walk runs as nobody there.
    const user = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const script = `const { openImageFolder } = await import(${JSON.stringify(join(DIST, 'data', 'index.js'))});
      await openImageFolder(process.argv[1]).then(() => console.log('{}'), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, join(root, 'data')], { ...user, timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({
      code: 'ERR_DATA_FILE',
      message: expect.stringMatching(new RegExp(`^cannot read folder ${join(root, 'data', 'a', 'locked')} of the data: EACCES`)),
    });
  });
});

describe('a batch size above the dataset size', () => {
  const root = tempDir();
  beforeAll(async () => {
    for (let i = 0; i < 5; i++) {
      mkdirSync(join(root, `c${i % 2}`), { recursive: true });
      writeFileSync(join(root, `c${i % 2}`, `${i}.png`), await png(40 * i));
    }
    // Skipped, wherever the order puts it: a batch started after it still holds every item left.
    writeFileSync(join(root, 'c0', 'broken.png'), 'not a png');
  });

  const sources = {
    files: () => openImageFolder(root),
    arrays: async () => fromArrays({ pixels: Uint8Array.from({ length: 5 * 12 }, (_, i) => i), labels: [0, 1, 0, 1, 0], width: 2, height: 2, channels: 3 }),
  };

  it.each(Object.keys(sources) as (keyof typeof sources)[])('gives one batch of every item, as batch size 5 does (%s)', async (source) => {
    const ds = await sources[source]();
    const options = { seed: 3, onSkipped: () => {} };
    const five = await collect(new DataLoader(ds, { ...options, batchSize: 5 }).epoch(0));
    const huge = await collect(new DataLoader(ds, { ...options, batchSize: 1e9 }).epoch(0));
    expect(five.map((b) => b.shape[0])).toEqual([5]);
    expect(huge.map((b) => b.shape)).toEqual(five.map((b) => b.shape));
    expect([...huge[0]!.inputs]).toEqual([...five[0]!.inputs]);
    expect([...huge[0]!.indices]).toEqual([...five[0]!.indices]);
    expect(await collect(new DataLoader(ds, { ...options, batchSize: 1e9, dropLast: true }).epoch(0))).toEqual([]);
  });
});

describe('mars-ft on a hostile folder', () => {
  const root = tempDir();
  const train = join(root, 'train');
  const out = join(root, 'out');

  beforeAll(async () => {
    for (const dir of ['a', 'b']) mkdirSync(join(train, dir), { recursive: true });
    for (let i = 0; i < 4; i++) writeFileSync(join(train, i < 2 ? 'a' : 'b', `${i}.png`), await png(60 * i));
    await mkfifo(join(train, 'a', 'fifo.png'));
    writeFileSync(join(train, 'a', 'tall.png'), lyingPng(28, 200_000_000));
    symlinkSync('.', join(train, 'a', 'loop1'));
    symlinkSync('.', join(train, 'a', 'loop2'));
    symlinkSync('..', join(train, 'a', 'up'));
  });

  /** The CLI, killed if it has not finished in `seconds`: a hang fails the test instead of stalling it. */
  const cli = (args: string[], seconds: number) =>
    new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: seconds * 1000, killSignal: 'SIGKILL' });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
    });

  it('finetune (batch size 1e9) trains on the readable images with their own labels; predict skips the others', async () => {
    const ft = await cli(['finetune', '--backbone', fixturePath('bn_resnet'), '--train', train, '--out', out, '--epochs', '1', '--batch-size', '1000000000', '--method', 'none', '--no-checkpoints'], 120);
    expect(ft.signal).toBeNull();
    expect(ft.stderr).toContain('train: 6 items, 2 classes (a 4, b 2)');
    expect(ft.stderr).toMatch(/MARS_DATA_LINKS.*left out a symbolic link to a folder outside its class folder \(.*up -> /);
    expect(ft.stderr).toMatch(/fifo\.png \([^)]*not a regular file/);
    expect(ft.stderr).toMatch(/tall\.png \(the image is 28×200000000/);
    expect(ft.status).toBe(0);

    const files = ['fifo.png', 'tall.png', '0.png'].map((f) => join(train, 'a', f));
    const pr = await cli(['predict', '--model', join(out, 'model.pt'), ...files], 60);
    expect(pr.signal).toBeNull();
    expect(pr.stderr).toContain(`skipped ${files[0]}: '${files[0]}' is not a regular file`);
    expect(pr.stderr).toContain(`skipped ${files[1]}: the image is 28×200000000`);
    expect(pr.stdout).toMatch(new RegExp(`^${files[2]}: `));
    expect(pr.status).toBe(0);
  }, 240_000);
});
