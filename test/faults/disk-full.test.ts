// A full disk never aborts the process: LibTorch's own file writer threw from
// its destructor after ENOSPC (SIGABRT, exit 134) and left a partial
// temporary file. Saves now build the archive in memory and write it with
// checked I/O: ERR_CHECKPOINT_WRITE, nothing left behind. The disk is a small
// tmpfs (the tests run as root, as CI does); where mounting is impossible,
// the failure is injected with a file-size limit (prlimit), which makes
// writes fail with EFBIG.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statfsSync, statSync, writeFileSync } from 'node:fs';
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
