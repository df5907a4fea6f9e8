/**
 * One case per regulariser with hyperparameters and optimisers that move the
 * weights visibly in 3 steps: the cases the native step is checked on against
 * scripts/fixtures/oracle_train.py (and the distributed step against both).
 */
import type { OptimizerOptions } from '../../lib/train/options.js';
import type { RegulariserOptions } from '../../lib/train/regularisers.js';

export interface OracleCase {
  regulariser: RegulariserOptions;
  optimizer: OptimizerOptions;
}

export const ORACLE_CASES: OracleCase[] = [
  { regulariser: { method: 'none' }, optimizer: { name: 'adam', lr: 1e-3, amsgrad: true } },
  { regulariser: { method: 'mars-sp', extractor: 0.3, classifier: 0.5 }, optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 } },
  { regulariser: { method: 'frobenius-sp', extractor: 0.2, classifier: 0.3 }, optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true } },
  { regulariser: { method: 'mars-penalty', extractor: 0.1, classifier: 0.1 }, optimizer: { name: 'adamw', lr: 1e-3, weightDecay: 0.01, amsgrad: false } },
  { regulariser: { method: 'l2-sp', extractor: 1, classifier: 1 }, optimizer: { name: 'sgd', lr: 0.05, momentum: 0 } },
  { regulariser: { method: 'delta', alpha: 1, classifier: 0.1 }, optimizer: { name: 'adam', lr: 1e-3 } },
  { regulariser: { method: 'bss', eta: 0.5, k: 2 }, optimizer: { name: 'adam', lr: 1e-3, amsgrad: false } },
];
