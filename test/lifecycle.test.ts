// Native handles as Node users expect: dispose() frees at once, `using`
// disposes at the end of a block, later use is ERR_DISPOSED, V8 is told about
// the native memory, and a long load/forward/dispose loop holds RSS flat.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { load, runtimeInfo, tensor } from '../lib/index.js';
import { fixturePath } from './helpers/fixtures.js';
import { ROOT } from './helpers/paths.js';

describe('dispose', () => {
  it('a disposed tensor or module refuses every use with ERR_DISPOSED; dispose is idempotent', async () => {
    const t = tensor(new Float32Array(4));
    t.dispose();
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(() => t.shape).toThrow(expect.objectContaining({ code: 'ERR_DISPOSED' }));
    const module = await load(fixturePath('small_cnn'));
    module.dispose();
    expect(module.disposed).toBe(true);
    await expect(module.forward(tensor(new Float32Array(1 * 28 * 28), [1, 1, 28, 28]))).rejects.toMatchObject({ code: 'ERR_DISPOSED' });
    expect(() => module.parameters()).toThrow(expect.objectContaining({ code: 'ERR_DISPOSED' }));
  });

  it('a disposed tensor passed to a module is refused with ERR_DISPOSED', async () => {
    const module = await load(fixturePath('small_cnn'));
    const x = tensor(new Float32Array(1 * 28 * 28), [1, 1, 28, 28]);
    x.dispose();
    await expect(module.forward(x)).rejects.toMatchObject({ code: 'ERR_DISPOSED' });
  });

  it('`using` disposes at the end of the block', () => {
    let kept;
    {
      using t = tensor(new Float32Array(8));
      kept = t;
      expect(kept.disposed).toBe(false);
    }
    expect(kept.disposed).toBe(true);
  });

  it('a forward already queued finishes after its module is disposed', async () => {
    const module = await load(fixturePath('small_cnn'));
    const pending = module.forward(tensor(new Float32Array(1 * 28 * 28), [1, 1, 28, 28]));
    module.dispose();
    expect((await pending).shape[0]).toBe(1);
  });
});

describe('memory', () => {
  it('native memory is reported to V8 while held and given back on dispose', async () => {
    // Deltas across one synchronous call each, so that a collection of other objects in between cannot blur them.
    const reported = () => runtimeInfo().nativeMemory;
    const bytes = 64 << 20;
    const source = new Float32Array(bytes / 4);
    let before = reported();
    const t = tensor(source);
    expect(reported() - before).toBe(bytes);
    before = reported();
    t.dispose();
    expect(before - reported()).toBe(bytes);
    // A module reports its parameters and buffers; a view of them (stateDict) reports nothing more.
    const module = await load(fixturePath('small_cnn'));
    const weights = [...module.parameters(), ...module.buffers()].reduce((n, p) => n + 4 * p.shape.reduce((a, b) => a * b, 1), 0);
    before = reported();
    module.stateDict();
    expect(reported()).toBe(before);
    module.dispose();
    expect(before - reported()).toBe(weights);
  });

  it('2,000 load/forward/dispose cycles hold RSS flat (in a fresh process)', async () => {
    // A child process, so that this file's other allocations do not blur the reading.
    const script = `
      const { load, tensor } = await import(${JSON.stringify(join(ROOT, 'dist', 'index.js'))});
      const file = ${JSON.stringify(fixturePath('small_cnn'))};
      const cycle = async () => {
        const m = await load(file);
        const x = tensor(new Float32Array(2 * 28 * 28), [2, 1, 28, 28]);
        const y = await m.forward(x);
        y.dispose(); x.dispose(); m.dispose();
      };
      for (let i = 0; i < 200; i++) await cycle();
      global.gc?.();
      const warm = process.memoryUsage().rss;
      for (let i = 0; i < 2000; i++) await cycle();
      global.gc?.();
      console.log(JSON.stringify({ warm, end: process.memoryUsage().rss }));`;
    const { stdout: out } = await promisify(execFile)(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    const { warm, end } = JSON.parse(out.trim().split('\n').pop() as string) as { warm: number; end: number };
    // Flat: under 2% (or 8 MB, whichever is larger) of growth over 2,000 cycles.
    expect(end - warm).toBeLessThan(Math.max(8 << 20, 0.02 * warm));
  }, 900_000);
});

describe('exit', () => {
  it('processes that load the addon and exit at once neither abort nor hang (24 of them, 4 at a time)', async () => {
    // Exiting while the compute thread still rebuilt LibTorch's thread pool
    // corrupted the heap or hung in about 1 of 10 such processes on a busy
    // machine; four at a time make this machine busy.
    const script = `import(${JSON.stringify(join(ROOT, 'dist', 'index.js'))}).then((m) => m.runtimeInfo())`;
    const run = () => promisify(execFile)(process.execPath, ['-e', script], { cwd: ROOT, timeout: 60_000, killSignal: 'SIGKILL' }).then(
      () => 'ok',
      (e: { code?: unknown; signal?: unknown; stderr?: string }) => `exit ${String(e.code)} ${String(e.signal)}: ${e.stderr?.trim().split('\n').slice(-6).join(' | ') ?? ''}`,
    );
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) outcomes.push(...(await Promise.all([run(), run(), run(), run()])));
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
  }, 600_000);
});
