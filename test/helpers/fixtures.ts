// Reads the fixtures that scripts/fixtures/make.py exported with PyTorch.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, PYTHON, ROOT, SYSTEM_PYTHON } from './paths.js';

export interface FixtureMeta {
  input: number[];
  outputs: number[][];
  tuple: boolean;
  parameters: { name: string; shape: number[]; dtype: string; kind: string; requiresGrad: boolean; isBuffer: boolean }[];
}

export const NETWORKS: string[] = (JSON.parse(readFileSync(join(FIXTURES, 'stamp.json'), 'utf8')) as { networks: string[] }).networks;

export const fixturePath = (name: string, suffix = '.pt') => join(FIXTURES, name + suffix);

export function meta(name: string): FixtureMeta {
  return JSON.parse(readFileSync(fixturePath(name, '.json'), 'utf8')) as FixtureMeta;
}

export function readFloat32(file: string): Float32Array {
  const bytes = readFileSync(file);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Runs Python code (by default with the suite's torch) and returns its stdout parsed as JSON. */
export function python<T>(code: string, args: string[] = [], interpreter = PYTHON): T {
  const out = execFileSync(interpreter, ['-c', code, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out) as T;
}

/** TensorBoard event files as the independent reader test/logs/read_events.py (crcmod, no torch) sees them. */
export function readEventFiles<T>(files: string[]): T {
  const script = join(ROOT, 'test', 'logs', 'read_events.py');
  return python<T>(`import runpy, sys; sys.argv = ["read", *sys.argv[1:]]; runpy.run_path(${JSON.stringify(script)}, run_name="__main__")`, files, SYSTEM_PYTHON);
}
