// The PyTorch oracle of the training step (scripts/fixtures/oracle_train.py)
// and the seeded batches both sides train on.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OptimizerOptions } from '../../lib/train/options.js';
import { python } from './fixtures.js';
import { ROOT } from './paths.js';

export interface OracleBatch {
  x: Float32Array;
  y: Int32Array;
  files: [string, string];
}

/** Seeded batches of `item`-shaped inputs and labels below `classes`, also written to `dir` for Python. */
export function makeBatches(dir: string, seed: number, count: number, batch: number, item: number[], classes: number): OracleBatch[] {
  let s = seed;
  const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const size = item.reduce((a, b) => a * b, 1);
  return Array.from({ length: count }, (_, b) => {
    const x = Float32Array.from({ length: batch * size }, () => rand() * 2 - 1);
    const y = Int32Array.from({ length: batch }, () => Math.floor(rand() * classes));
    const files: [string, string] = [join(dir, `x${seed}-${b}.bin`), join(dir, `y${seed}-${b}.bin`)];
    writeFileSync(files[0], x);
    writeFileSync(files[1], y);
    return { x, y, files };
  });
}

export interface OracleJob {
  model: string;
  batches: OracleBatch[];
  xshape: number[];
  regulariser: { method: string; [k: string]: unknown };
  optimizer: OptimizerOptions;
  pool: boolean;
  channelWeights?: Float32Array;
  precision?: 'fp32' | 'bf16';
  /** F.cross_entropy's weight. */
  classWeights?: number[];
  /** A linear probe: the backbone in eval mode, only the head optimised. */
  freezeBackbone?: boolean;
}

/**
 * The classifier file converted to float64 by PyTorch (integer buffers stay
 * int64): the comparisons of weights after optimiser steps run in float64 on
 * both sides, where reduction-order noise is about 1e-16 of a sum's terms
 * rather than 6e-8 (test/finetune-oracle.test.ts says why that matters).
 */
export function toFloat64(file: string): string {
  const out = file.replace(/\.pt$/, '-f64.pt');
  python(`import json, sys, torch; m = torch.jit.load(sys.argv[1]); m.double(); torch.jit.save(m, sys.argv[2]); print(json.dumps(0))`, [file, out]);
  return out;
}

/** Trains the classifier file in plain PyTorch on the batches; every parameter and buffer afterwards. */
export function runOracle(dir: string, name: string, job: OracleJob): Record<string, number[]> {
  const optimizer = { name: 'adam', lr: 1e-4, momentum: 0.9, nesterov: false, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, amsgrad: true, ...job.optimizer };
  const { method, ...hyper } = job.regulariser;
  const file = join(dir, `job-${name.replace(/\W+/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({
    model: job.model, batches: job.batches.map((b) => b.files), xshape: job.xshape, method, hyper, optimizer, pool: job.pool,
    channelWeights: job.channelWeights ? Array.from(job.channelWeights) : undefined, precision: job.precision ?? 'fp32',
    classWeights: job.classWeights, freezeBackbone: job.freezeBackbone,
  }));
  const script = join(ROOT, 'scripts', 'fixtures', 'oracle_train.py');
  return python<Record<string, number[]>>(`import runpy, sys; sys.argv = ["oracle", ${JSON.stringify(file)}]; runpy.run_path(${JSON.stringify(script)}, run_name="__main__")`);
}
