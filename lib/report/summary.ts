/**
 * summary.json, the record of a run that `mars-ft finetune` writes and
 * `mars-ft report` reads: every setting (defaults filled in), the data, the
 * selected epoch's and the final epoch's scores, and the machine it ran on.
 */
import { cpus, platform, arch, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { packageRoot } from '../native/loader.js';
import { runtimeInfo } from '../torch/runtime.js';
import type { FineTuneResult, FineTuneSettings } from '../train/finetune.js';
import type { SplitMetrics } from '../train/options.js';
import type { Regulariser } from '../train/regularisers.js';

export interface RunEnvironment {
  package: string;
  node: string;
  os: string;
  cpu: string;
  cpus: number;
  memoryGiB: number;
  libtorch: string;
  cuda: string;
  threads: number;
}

/** The scores of one epoch's weights. */
export interface EpochScores {
  epoch: number;
  validation?: SplitMetrics;
  test?: SplitMetrics;
}

export interface RunSummary {
  method: Regulariser['method'];
  regulariser: Regulariser;
  settings: FineTuneSettings & { checkpoints: boolean };
  classNames: readonly string[];
  /** Items per class, in label order. */
  classCounts: { train: number[]; validation?: number[]; test?: number[] };
  trainItems: number;
  validationItems?: number;
  testItems?: number;
  /** Epochs trained (early stopping may end a run before `settings.epochs`). */
  epochs: number;
  bestEpoch: number;
  /** The weights model.pt holds: the best epoch by validation (ties: lower validation loss), else the last. */
  selected: EpochScores;
  final: EpochScores;
  /** selected.test's, kept at the top for scripts. */
  testAccuracy?: number;
  testLoss?: number;
  seconds: number;
  startedAt: string;
  environment: RunEnvironment;
}

export function environment(): RunEnvironment {
  const info = runtimeInfo();
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  return {
    package: `${pkg.name} ${pkg.version}`,
    node: process.version,
    os: `${platform()} ${release()} ${arch()}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    libtorch: info.libtorchVersion,
    cuda: info.builtWithCuda ? `built with CUDA; ${info.cudaAvailable ? `${info.cudaDeviceCount} device(s)` : 'no device available'}` : 'CPU-only build',
    threads: info.threads,
  };
}

export function runSummary(
  result: FineTuneResult,
  data: { train: Dataset; validation?: Dataset | undefined; test?: Dataset | undefined },
  run: { checkpoints: boolean; seconds: number; startedAt: Date },
): RunSummary {
  const scores = (epoch: number, test: SplitMetrics | undefined): EpochScores => {
    const validation = result.history[epoch - 1]?.validation;
    return { epoch, ...(validation ? { validation } : {}), ...(test ? { test } : {}) };
  };
  const regulariser = result.settings.regulariser;
  return {
    method: regulariser.method,
    regulariser,
    settings: { ...result.settings, checkpoints: run.checkpoints },
    classNames: result.model.classNames,
    classCounts: {
      train: data.train.classCounts(),
      ...(data.validation ? { validation: data.validation.classCounts() } : {}),
      ...(data.test ? { test: data.test.classCounts() } : {}),
    },
    trainItems: data.train.size,
    ...(data.validation ? { validationItems: data.validation.size } : {}),
    ...(data.test ? { testItems: data.test.size } : {}),
    epochs: result.history.length,
    bestEpoch: result.bestEpoch,
    selected: scores(result.bestEpoch, result.test),
    final: scores(result.history.length, result.finalTest),
    ...(result.test ? { testAccuracy: result.test.accuracy, testLoss: result.test.loss } : {}),
    seconds: run.seconds,
    startedAt: run.startedAt.toISOString(),
    environment: environment(),
  };
}
