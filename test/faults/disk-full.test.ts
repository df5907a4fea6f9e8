// A full disk never aborts the process: LibTorch's own file writer threw from
// its destructor after ENOSPC (SIGABRT, exit 134) and left a partial
// temporary file. Saves now build the archive in memory and write it with
// checked I/O: ERR_CHECKPOINT_WRITE, nothing left behind. The disk is a small
// tmpfs (the tests run as root, as CI does); where mounting is impossible,
// the failure is injected with a file-size limit (prlimit), which makes
// writes fail with EFBIG.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadCheckpoint } from '../../lib/index.js';
import { atomicWrite, removePendingTemporaries, sweepStaleTemporaries } from '../../lib/util/atomic-write.js';
import { fixturePath } from '../helpers/fixtures.js';
import { mountTmpfs, unmount } from '../helpers/mounts.js';
import { CLI, ROOT } from '../helpers/paths.js';

const root = mkdtempSync(join(tmpdir(), 'mars-disk-'));
const disk = join(root, 'disk');
let mounted = false;
const FMNIST = '/usr/share/datasets/fashion-mnist';
const data = (split: string) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;

beforeAll(() => {
  mounted = mountTmpfs(disk, '2m');
  if (!mounted) mkdirSync(disk, { recursive: true });
});
afterAll(() => {
  if (mounted) unmount(disk);
});

/** Runs node with `args`; without the tmpfs, under a file-size limit of `limit` bytes instead. */
function node(args: string[], limit: number): SpawnSyncReturns<string> {
  const [cmd, ...rest] = mounted ? [process.execPath, ...args] : ['prlimit', `--fsize=${limit}`, process.execPath, ...args];
  return spawnSync(cmd!, rest, { encoding: 'utf8', timeout: 120_000 });
}

/** Every file under `dir`, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());
}

/** Fills the tmpfs but for about `leave` bytes. */
function fill(leave: number): void {
  if (!mounted) return;
  rmSync(join(disk, 'filler'), { force: true });
  const { bavail, bsize } = statfsSync(disk);
  writeFileSync(join(disk, 'filler'), Buffer.alloc(Math.max(0, bavail * bsize - leave)));
}

describe('saving to a full disk', () => {
  it('rejects with ERR_CHECKPOINT_WRITE, leaves no temporary file, and the process lives on', () => {
    const dir = join(disk, 'save');
    mkdirSync(dir);
    // 45 MB into a 2 MiB disk; then a small model, which must fit in the space the failed write gave back.
    const script = `
      const { load } = await import(${JSON.stringify(join(ROOT, 'dist', 'index.js'))});
      const big = await load(${JSON.stringify(fixturePath('resnet18_headless'))});
      const out = {};
      try { await big.save(${JSON.stringify(join(dir, 'model.pt'))}); out.big = 'ok'; } catch (e) { out.big = e.code; out.message = e.message; }
      await (await load(${JSON.stringify(fixturePath('small_cnn'))})).save(${JSON.stringify(join(dir, 'small.pt'))});
      out.small = 'ok';
      console.log(JSON.stringify(out));`;
    const r = node(['--input-type=module', '-e', script], 1 << 20);
    expect(r.signal).toBeNull(); // LibTorch's writer aborted here (SIGABRT)
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout.trim()) as { big: string; message: string; small: string };
    expect(out).toMatchObject({ big: 'ERR_CHECKPOINT_WRITE', small: 'ok' });
    expect(out.message).toMatch(mounted ? /disk is full/ : /EFBIG/);
    expect(files(dir)).toEqual(['small.pt']);
  });

  it('mars-ft finetune whose output sits on a full disk exits with ERR_CHECKPOINT_WRITE in seconds, leaving no temporary file', () => {
    const out = join(disk, 'run');
    fill(200 << 10); // room for the folder and a probe, not for a 0.7 MB checkpoint
    const started = performance.now();
    const r = node([CLI, 'finetune', '--backbone', fixturePath('bn_resnet'), '--train', data('train'), '--test', data('t10k'),
      '--classes', '7,8', '--per-class', '10', '--epochs', '2', '--batch-size', '10', '--out', out], 200 << 10);
    const seconds = (performance.now() - started) / 1000;
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(mounted ? /\[ERR_CHECKPOINT_WRITE\].*disk is full/ : /\[ERR_CHECKPOINT_WRITE\]/);
    expect(seconds).toBeLessThan(60);
    expect(files(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('appending to a journal on a full disk', () => {
  // A line that crosses a page boundary of the full tmpfs (or the file-size
  // limit) is written in part before ENOSPC (EFBIG): appendFileSync kept that
  // part, a torn line the next append glued its own to.
  it('trials.jsonl and runs.jsonl: ERR_WRITE naming the file, the file as it was; once there is room, both resume and append whole lines', () => {
    const dir = join(disk, 'journals');
    mkdirSync(dir);
    const dist = (module: string) => JSON.stringify(join(ROOT, 'dist', module));
    const script = `
      const { readFileSync, rmSync, statfsSync, statSync, writeFileSync } = await import('node:fs');
      const { Journal } = await import(${dist('search/journal.js')});
      const { RunJournal } = await import(${dist('experiment/journal.js')});
      const dir = ${JSON.stringify(dir)};
      const shape = { space: { extractor: { type: 'logUniform', low: 1, high: 10 } }, trials: 100, splits: 1, epochs: 1 };
      const trial = (id) => ({ id, status: 'complete', params: { extractor: 1 + id / 100 }, score: 0.5, accuracy: 0.5, loss: 1,
        folds: [{ repeat: 0, fold: 0, count: 4, accuracy: 0.5, loss: 1, epochs: [{ accuracy: 0.5, loss: 1 }] }], seconds: 1, threads: 1 });
      const run = (seed) => ({ key: 'r-bnupdate-n4-none/seed' + seed, recipe: 'r', batchNorm: 'update', n: 4, row: 'none', seed,
        setting: { regulariser: { method: 'none' }, optimizer: { name: 'adam', lr: 0.001 } }, testAccuracy: 0.5, testLoss: 0.7,
        trainAccuracy: 1, distances: [{ name: 'w', mars: 1, frobenius: 1 }], seconds: 1, loadAverage: 0.5 });
      const journals = {
        'trials.jsonl': { open: () => Journal.open(dir + '/search', {}, shape), record: trial, add: (j, r) => j.append(r), path: dir + '/search/trials.jsonl' },
        'runs.jsonl': { open: () => RunJournal.open(dir + '/experiment', { format: 1 }), record: run, add: (j, r) => j.add(r), path: dir + '/experiment/runs.jsonl' },
      };
      const size = (path) => { try { return statSync(path).size; } catch { return 0; } };
      const out = {};
      for (const [name, k] of Object.entries(journals)) {
        k.journal = await k.open();
        // Whole lines up to just below 4096 bytes (one page, or the size limit): the next one crosses it.
        let n = 1;
        while (size(k.path) + JSON.stringify(k.record(n)).length + 1 <= 4096) k.add(k.journal, k.record(n++));
        k.next = n;
      }
      if (${mounted}) {
        const { bavail, bsize } = statfsSync(dir);
        writeFileSync(dir + '/filler', Buffer.alloc(bavail * bsize));
      }
      for (const [name, k] of Object.entries(journals)) {
        const before = readFileSync(k.path);
        try { k.add(k.journal, k.record(k.next)); out[name] = { appended: true }; } catch (e) { out[name] = { code: e.code, message: e.message }; }
        out[name].unchanged = readFileSync(k.path).equals(before);
        out[name].lines = k.next - 1;
      }
      rmSync(dir + '/filler', { force: true });
      for (const [name, k] of Object.entries(journals)) {
        k.journal.close();
        const again = await k.open();
        k.add(again, k.record(k.next));
        again.close();
        out[name].resumed = readFileSync(k.path, 'utf8');
      }
      console.log(JSON.stringify(out));`;
    const r = node(['--input-type=module', '-e', script], 4096);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout.trim()) as Record<string, { code: string; message: string; unchanged: boolean; lines: number; resumed: string }>;
    for (const [name, o] of Object.entries(out)) {
      expect(o.code, name).toBe('ERR_WRITE');
      expect(o.message).toMatch(new RegExp(`cannot append to .*${name}: ${mounted ? 'the disk is full' : '.*EFBIG'}`));
      expect(o.unchanged, `${name} is as it was`).toBe(true);
      const lines = o.resumed.split('\n');
      expect(lines.pop()).toBe('');
      expect(lines).toHaveLength(o.lines + 1);
      for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    }
  });

  it('mars-ft finetune: metrics.jsonl keeps whole lines and the run exits with ERR_WRITE naming it', () => {
    const out = join(disk, 'metrics');
    // Room for the lock and one page of metrics.jsonl: its fifth line (about 900 bytes each) crosses the page.
    fill(2 * 4096);
    const r = node([CLI, 'finetune', '--backbone', fixturePath('bn_resnet'), '--train', data('train'), '--classes', '7,8', '--per-class', '5',
      '--epochs', '8', '--batch-size', '5', '--no-checkpoints', '--out', out], 4096);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`\\[ERR_WRITE\\]: cannot append to .*metrics\\.jsonl: ${mounted ? 'the disk is full' : '.*EFBIG'}`));
    const text = readFileSync(join(out, 'metrics.jsonl'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const epochs = text.trim().split('\n').map((l) => (JSON.parse(l) as { epoch: number }).epoch);
    expect(epochs).toEqual(epochs.map((_, i) => i + 1));
    expect(epochs.length).toBeLessThan(8);
    expect(files(out).filter((f) => f !== 'metrics.jsonl')).toEqual([]);
  });
});

describe('temporary files', () => {
  it('stale ones of our exact naming whose process is gone are swept; nothing else is touched', async () => {
    const dir = mkdtempSync(join(root, 'sweep-'));
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a pid that has exited
    const names = {
      stale: `.last.pt.${dead}.0123abcd.tmp`,
      live: `.last.pt.${process.pid}.89abcdef.tmp`,
      notOurs: 'notes.tmp',
      wrongHex: `.last.pt.${dead}.xyz.tmp`,
      visible: `last.pt.${dead}.0123abcd.tmp`,
    };
    for (const n of Object.values(names)) writeFileSync(join(dir, n), 'x');
    expect(await sweepStaleTemporaries(dir)).toEqual([join(dir, names.stale)]);
    expect(readdirSync(dir).sort()).toEqual([names.live, names.notOurs, names.wrongHex, names.visible].sort());
  });

  it('a forced exit removes the temporary file of a write under way', async () => {
    const dir = mkdtempSync(join(root, 'pending-'));
    let tmp = '';
    let release!: () => void;
    const writing = atomicWrite(join(dir, 'x.pt'), 'ERR_CHECKPOINT_WRITE', async (path) => {
      tmp = path;
      writeFileSync(path, 'partial');
      await new Promise<void>((r) => (release = r));
    });
    await vi.waitFor(() => expect(tmp).not.toBe(''));
    expect(existsSync(tmp)).toBe(true);
    removePendingTemporaries();
    expect(existsSync(tmp)).toBe(false);
    release();
    await writing.catch(() => undefined);
  });

  it('a second Ctrl-C during mars-ft finetune quits at once and leaves no temporary file', async () => {
    const out = mkdtempSync(join(root, 'sigint-'));
    const child = spawn(process.execPath, [CLI, 'finetune', '--backbone', fixturePath('bn_resnet'), '--train', data('train'), '--test', data('t10k'),
      '--classes', '7,8', '--per-class', '50', '--epochs', '50', '--batch-size', '5', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await vi.waitFor(() => expect(stderr).toMatch(/epoch/i), { timeout: 60_000, interval: 100 });
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    // 130 when the first Ctrl-C's abort finished first; else the second kills it by SIGINT, as a shell's Ctrl-C does.
    const { code, signal } = await exited;
    expect(code === 130 || signal === 'SIGINT', `exit code ${code}, signal ${signal}; stderr: ${stderr.slice(-500)}`).toBe(true);
    expect(files(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const last = join(out, 'checkpoints', 'last.pt');
    if (existsSync(last)) await expect(loadCheckpoint(last)).resolves.toBeDefined(); // whole, if written
  });
});
