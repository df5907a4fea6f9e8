// Damaged TorchScript files, made by scripts/fuzz/damage.py (Python's zipfile
// rebuilds each archive, so CRCs and sizes are valid unless the family breaks them).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PYTHON, ROOT } from './paths.js';

export interface Damaged {
  file: string;
  family: string;
  detail: string;
}

export const FAMILIES = ['intact', 'mutate', 'short-record', 'long-record', 'numel', 'view', 'bomb-record', 'bomb-extra', 'bomb-lying', 'overlap'] as const;

export function damage(good: string, outDir: string, family: (typeof FAMILIES)[number], count: number, seed: number, bombBytes = 1 << 30): Damaged[] {
  const script = join(ROOT, 'scripts', 'fuzz', 'damage.py');
  const out = execFileSync(PYTHON, [script, good, outDir, family, String(count), String(seed), '--bomb-bytes', String(bombBytes)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return JSON.parse(out) as Damaged[];
}
