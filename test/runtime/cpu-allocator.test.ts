import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.js';

// In a fresh process: the allocator's cache is the process's, and other test files must not free into it meanwhile.
function child<T>(body: string): T {
  const script = `const m = await import(${JSON.stringify(join(ROOT, 'dist', 'index.js'))});
const { trimCpuCache } = await import(${JSON.stringify(join(ROOT, 'dist', 'torch', 'runtime.js'))});
${body}`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as T;
}

describe('caching CPU allocator', () => {
  it('keeps a freed large block, serves the next tensor of that size from it, and gives it all back on trim', () => {
    const r = child<{ start: number; freed: number; reused: number; trimmed: number; sum: number }>(`
const cached = () => m.runtimeInfo().cachedCpuMemory;
m.setNumThreads(1);
const source = m.tensor(Float32Array.from({ length: 1 << 20 }, (_, i) => i % 7));
trimCpuCache();
const start = cached();
(await source.to({ dtype: 'float64' })).dispose();   // 8 MiB, freed into the cache
const freed = cached();
const again = await source.to({ dtype: 'float64' }); // the same size: taken from the cache
const reused = cached();
const values = again.toArray();
let sum = 0;
for (const v of values) sum += v;
again.dispose();
trimCpuCache();
console.log(JSON.stringify({ start, freed, reused, trimmed: cached(), sum }));
`);
    expect(r.start).toBe(0);
    expect(r.freed).toBeGreaterThanOrEqual(8 * 2 ** 20);
    expect(r.reused).toBe(r.freed - 8 * 2 ** 20 - 4096); // the block: 8 MiB and its 64-byte header, in whole pages
    expect(r.trimmed).toBe(0);
    // The reused block holds the new tensor's values: sum of i mod 7 over 2^20 items, in closed form.
    const n = 2 ** 20;
    expect(r.sum).toBe(Math.floor(n / 7) * 21 + ((n % 7) * ((n % 7) - 1)) / 2);
  });
});
