// One run at a time in an output folder. Two `mars-ft search` runs on one
// --out wrote every trial twice (and the folder was then refused until edited
// by hand), two experiments ran every run twice, two finetune runs
// interleaved metrics.jsonl. The first run now locks the folder and a second
// is refused with ERR_OUTPUT_DIR naming it; a lock left by a killed run is
// taken over.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runExperiment } from '../../lib/experiment/index.js';
import { DirLock, LOCK_FILE } from '../../lib/util/dir-lock.js';
import { runCli } from '../helpers/cli.js';
import { fixturePath } from '../helpers/fixtures.js';
import { CLI, ROOT } from '../helpers/paths.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';
const data = (split: string) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `mars-lock-${name}-`));
const lockOf = (dir: string) => join(dir, LOCK_FILE);
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;
const owner = (pid: number, host = hostname()) => JSON.stringify({ pid, hostname: host, started: '2026-01-01T00:00:00.000Z', command: 'mars-ft search --out x' });

/** Starts mars-ft with `args`; resolves once its stderr matches `ready`. */
async function startCli(args: string[], ready: RegExp) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await vi.waitFor(() => expect(stderr).toMatch(ready), { timeout: 60_000, interval: 100 });
  return { child, exited, stderr: () => stderr };
}

describe('DirLock', () => {
  it('refuses a second lock of the folder, naming the holder; after release the folder can be locked again', async () => {
    const dir = tmp('unit');
    const lock = await DirLock.acquire(dir);
    const held = JSON.parse(readFileSync(lockOf(dir), 'utf8')) as Record<string, unknown>;
    expect(held).toMatchObject({ pid: process.pid, hostname: hostname() });
    expect(Date.parse(held.started as string)).toBeGreaterThan(Date.now() - 60_000);
    await expect(DirLock.acquire(dir)).rejects.toMatchObject({ code: 'ERR_OUTPUT_DIR', message: expect.stringContaining(`pid ${process.pid} on ${hostname()}`) });
    lock.release();
    expect(existsSync(lockOf(dir))).toBe(false);
    (await DirLock.acquire(dir)).release();
  });

  it("takes over the lock of a process that is gone, and one holding this process's pid that it does not hold (a restarted container)", async () => {
    for (const pid of [deadPid(), process.pid]) {
      const dir = tmp('stale');
      writeFileSync(lockOf(dir), owner(pid));
      const lock = await DirLock.acquire(dir);
      expect(JSON.parse(readFileSync(lockOf(dir), 'utf8'))).toMatchObject({ pid: process.pid });
      lock.release();
    }
  });

  it('refuses a lock taken on another machine (it cannot be checked from here), and one it cannot read, saying which file to remove', async () => {
    const dir = tmp('other-host');
    writeFileSync(lockOf(dir), owner(deadPid(), 'elsewhere.example'));
    await expect(DirLock.acquire(dir)).rejects.toMatchObject({ code: 'ERR_OUTPUT_DIR', message: expect.stringMatching(/on elsewhere\.example, started 2026-01-01T00:00:00\.000Z: mars-ft search --out x.*remove .*\.mars-ft\.lock/) });
    writeFileSync(lockOf(dir), '');
    await expect(DirLock.acquire(dir)).rejects.toThrow(/its lock file cannot be read/);
  });

  it('is released when the process exits without releasing it', () => {
    const dir = tmp('exit');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
      const { existsSync } = await import('node:fs');
      const { DirLock } = await import(${JSON.stringify(join(ROOT, 'dist', 'util', 'dir-lock.js'))});
      await DirLock.acquire(${JSON.stringify(dir)});
      console.log(existsSync(${JSON.stringify(lockOf(dir))}));`], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('true');
    expect(existsSync(lockOf(dir))).toBe(false);
  });
});

describe('a second run on a folder in use is refused while the first runs', () => {
  it('mars-ft finetune: refused with ERR_OUTPUT_DIR naming the first (pid, host, command), metrics.jsonl untouched; a new run works once it ended', async () => {
    const out = tmp('finetune');
    const args = (perClass: string, epochs: string) => ['finetune', '--backbone', fixturePath('bn_resnet'), '--train', data('train'),
      '--classes', '7,8', '--per-class', perClass, '--epochs', epochs, '--batch-size', '5', '--out', out];
    const first = await startCli(args('20', '200'), /epoch 1\/200/);
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8');
    const second = await runCli(args('10', '1'));
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`\\[ERR_OUTPUT_DIR\\].*in use by another run \\(pid ${first.child.pid} on ${hostname()}, started [^,]+: .*finetune .*--out ${out}`));
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').startsWith(metrics)).toBe(true);
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(130);
    expect(existsSync(lockOf(out))).toBe(false);
    const third = await runCli(args('10', '1'));
    expect(third.stderr).not.toMatch(/ERR_/);
    expect(third.status).toBe(0);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('mars-ft search: refused while the first runs, no trial written twice; the same command then resumes', async () => {
    const out = tmp('search');
    const args = (trials: number) => ['search', '--backbone', fixturePath('bn_resnet'), '--train', data('train'), '--classes', '7,8', '--per-class', '6',
      '--method', 'mars-sp', '--folds', '2', '--epochs', '1', '--batch-size', '4', '--sampler', 'random', '--threads', '1', '--trials', String(trials), '--out', out];
    const first = await startCli(args(40), /trial 1 of 40/);
    const second = await runCli(args(40));
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`\\[ERR_OUTPUT_DIR\\].*pid ${first.child.pid} on ${hostname()}.*search`));
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(130);
    const ids = () => readFileSync(join(out, 'trials.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id);
    const done = ids();
    expect(done).toEqual(done.map((_, i) => i + 1));
    const resumed = await runCli(args(done.length + 1));
    expect(resumed.status).toBe(0);
    expect(ids()).toEqual([...done, done.length + 1]);
  });

  it('runExperiment: refused while another runs on the folder; the folder is free again once it stopped', async () => {
    const dir = tmp('experiment');
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({
      name: 'locked', backbone: fixturePath('bn_resnet'), target: { train: data('train'), test: data('t10k'), classes: [3, 7], testPerClass: 10 },
      recipes: { r: { optimizer: { name: 'adam', lr: 1e-3 }, schedule: { type: 'constant' }, batchSize: 4, epochs: 50 } },
      studies: [{ recipe: 'r', sizes: [20], rows: ['none'] }], seeds: 2, threads: 1,
    }));
    const out = join(dir, 'out');
    const controller = new AbortController();
    const first = runExperiment({ config, out, signal: controller.signal });
    await vi.waitFor(() => expect(existsSync(lockOf(out))).toBe(true), { timeout: 60_000, interval: 50 });
    await expect(runExperiment({ config, out })).rejects.toMatchObject({ code: 'ERR_OUTPUT_DIR', message: expect.stringContaining(`pid ${process.pid}`) });
    controller.abort();
    await expect(first).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(existsSync(lockOf(out))).toBe(false);
    await expect(runExperiment({ config, out, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });
});
