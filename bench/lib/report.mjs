// What every benchmark reports the same way (shared/design/benchmarks.md,
// "How a benchmark reports"): medians (the mean of the middle two for even
// counts), ranges, the machine and its load, and results that never overwrite
// the committed ones unless `--write` is given.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The median; for an even count the mean of the middle two. */
export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** { median, min, max, samples } of a list of numbers. */
export function summary(xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), samples: xs };
}

/** The 1-, 5- and 15-minute load averages now, rounded to hundredths. */
export function load() {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}

export function machine() {
  return { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version };
}

/**
 * Writes `result` to bench/results/NAME.json with `write`, else to the
 * system's temporary folder (committed results stay as they are); returns the path.
 */
export function saveResult(name, result, write) {
  const file = write ? join(root, 'bench', 'results', `${name}.json`) : join(tmpdir(), `mars-bench-${name}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  return file;
}
