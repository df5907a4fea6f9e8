import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.js';

/**
 * Runs `body` (an ES module body with `dist` imported as `m`) in a fresh Node
 * process, so that its threads and LibTorch's settings are its own; returns what it prints as JSON.
 */
function child<T>(body: string, env: Record<string, string> = {}): T {
  const script = `const m = await import(${JSON.stringify(join(ROOT, 'dist', 'index.js'))});\n${body}`;
  // Without the thread variables of the parent (libgomp rejects an empty one), unless `env` sets them.
  const { OMP_NUM_THREADS: _omp, MKL_NUM_THREADS: _mkl, ...inherited } = process.env;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...inherited, ...env } });
  return JSON.parse(out) as T;
}

// Threads of the child process (Linux): OpenMP starts a team thread for every extra thread a parallel region asks for.
const COUNT_THREADS = `const { readdirSync } = await import('node:fs'); const threads = () => readdirSync('/proc/self/task').length;`;
// A conversion of 4M elements runs on the compute thread and is split across LibTorch's threads.
const COMPUTE = `const big = m.tensor(new Float32Array(1 << 22)); const compute = async () => (await big.to({ dtype: 'float64' })).dispose();`;

describe('LibTorch threads', () => {
  it('setNumThreads takes effect after computations have run, on the thread that computes', () => {
    const r = child<{ one: number; four: number; reported: number }>(`
${COUNT_THREADS}
${COMPUTE}
m.setNumThreads(1);
await compute();
await compute();
const one = threads();
m.setNumThreads(4);
await compute();
console.log(JSON.stringify({ one, four: threads(), reported: m.runtimeInfo().threads }));
`);
    // Three more OpenMP workers for the compute thread's team (were the setting applied on the JS thread only, none).
    expect(r.four - r.one).toBeGreaterThanOrEqual(3);
    expect(r.reported).toBe(4);
  });

  it('default: one per physical core (as PyTorch 2 counts them), or OMP_NUM_THREADS', () => {
    // lscpu lists every CPU with its core and socket: distinct (core, socket) pairs are physical cores.
    const pairs = execFileSync('lscpu', ['-p=CORE,SOCKET'], { encoding: 'utf8' }).split('\n').filter((l) => l && !l.startsWith('#'));
    const cores = new Set(pairs).size;
    expect(child<number>('console.log(m.runtimeInfo().threads);')).toBe(cores);
    expect(child<number>('console.log(m.runtimeInfo().threads);', { OMP_NUM_THREADS: '3' })).toBe(3);
  });
});
