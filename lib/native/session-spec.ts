/**
 * What `createSession` reads: every field of a training session, complete.
 * Mirrored field for field by native/train/session_options.h, whose reader
 * refuses (ERR_INVALID_ARGUMENT, naming the field) a missing field, a field
 * of the wrong type and a field it does not know. The native side has no
 * defaults: they come from the zod schemas (lib/train/options.ts) only. An
 * absent part (no loss scale, no DELTA, ...) is `null`, never left out.
 */
import type { NativeTensor } from './surface.js';

export interface NativeOptimizerSpec {
  name: 'sgd' | 'adam' | 'adamw';
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  amsgrad: boolean;
}

/** fp16's dynamic loss scale (GradScaler's parameters). */
export interface NativeGradScalerSpec {
  initScale: number;
  growthFactor: number;
  backoffFactor: number;
  growthInterval: number;
}

/** A tensor projected back into its ball after every step. */
export interface NativeConstraintSpec {
  /** Parameter name, e.g. `backbone.layer1.0.conv1.weight`. */
  name: string;
  type: 'mars' | 'frobenius' | 'batchnorm';
  radius: number;
  /** The ball's centre: W0, or zero (the new head). */
  centre: 'init' | 'zero';
}

/** A tensor's distance from its centre, added to the loss. */
export interface NativePenaltySpec {
  name: string;
  norm: 'mars' | 'l2sq';
  weight: number;
  centre: 'init' | 'zero';
}

export interface NativeSessionSpec {
  /** The backbone returns feature maps, averaged before the head. */
  pool: boolean;
  /** autocast's dtype for forward and loss. */
  precision: 'fp32' | 'bf16' | 'fp16';
  gradScaler: NativeGradScalerSpec | null;
  optimizer: NativeOptimizerSpec;
  constraints: NativeConstraintSpec[];
  penalties: NativePenaltySpec[];
  /** DELTA's channel-weighted feature-map distance to the frozen starting backbone: one weight per backbone output channel. */
  delta: { alpha: number; channelWeights: NativeTensor } | null;
  /** BSS: the `k` smallest singular values of the features, squared, times `eta`. */
  bss: { eta: number; k: number } | null;
  /** Cross-entropy weight of each class, in label order (one dimension). */
  classWeights: NativeTensor | null;
  /** A linear probe: only the head trains; the backbone stays in eval mode. */
  freezeBackbone: boolean;
  /** The backbone trains in eval mode: BatchNorm keeps its running statistics. */
  freezeStatistics: boolean;
  /** Seeds the session's own random streams: a non-negative safe integer. */
  seed: number;
}

/** How a session of a data-parallel job trains (native/distributed/data_parallel.h). */
export interface NativeParallelSpec {
  syncBatchNorm: boolean;
  /** Every this many steps, check that every rank holds the same weights (0: never). */
  checkEvery: number;
}
