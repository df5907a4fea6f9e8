/**
 * The fused in-place projections of the distance-based regularisers
 * (method.md): after an optimiser step, map a tensor back into its ball around
 * the pre-trained snapshot W0. Thin typed wrappers over the native kernels
 * (native/kernels/projection.h); the trainer calls those directly from C++.
 *
 * Each call modifies its first tensor in place on the compute thread, after
 * any forward or step already queued there (so it never races one), and
 * resolves with what it saw. Invalid arguments reject with a coded error.
 */
import { MarsError } from '../errors.js';
import { native } from '../native/loader.js';
import type { NativeProjectionStats } from '../native/surface.js';
import { Tensor } from '../torch/tensor.js';

/**
 * `rescale` (default): the reference's map, `W0 + (W - W0) * radius / ||W_r - W0_r||_1`
 * for rows outside the ball. `exact-l1`: the exact Euclidean projection of
 * each row onto the l1 ball (Duchi et al. 2008; computed exactly with Michelot's
 * iteration); an option, not the paper's map.
 */
export type ProjectionMode = 'rescale' | 'exact-l1';

/** What a projection did: rows examined and clipped, distances before and after. */
export type ProjectionStats = NativeProjectionStats;

export interface MarsProjectionOptions {
  /** Default `rescale`. */
  mode?: ProjectionMode;
}

export interface BatchNormClipOptions {
  /** Added to the running variances before the square root; default 1e-6 (the reference's). */
  eps?: number;
}

function checkTensor(t: unknown, what: string): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new MarsError('ERR_INVALID_ARGUMENT', `${what} must be a Tensor (create one with tensor())`);
}

function checkRadius(radius: unknown): asserts radius is number {
  if (typeof radius !== 'number' || !Number.isFinite(radius) || radius < 0) {
    throw new MarsError('ERR_INVALID_ARGUMENT', `radius must be a finite number >= 0, got ${String(radius)}`);
  }
}

/**
 * MARS projection, per output unit (first axis; the rest of the tensor is the
 * row: Linear `(out, in)`, Conv `(out, in/groups, kh, kw)`): every row with
 * `||W_r - W0_r||_1 > radius` is brought back to the sphere of that radius.
 * `w0 = null` centres the ball at zero (the new head). In place on `w`.
 */
export async function projectMars(w: Tensor, w0: Tensor | null, radius: number, options: MarsProjectionOptions = {}): Promise<ProjectionStats> {
  checkTensor(w, 'w');
  if (w0 !== null) checkTensor(w0, 'w0');
  checkRadius(radius);
  const mode = options.mode ?? 'rescale';
  if (mode !== 'rescale' && mode !== 'exact-l1') {
    throw new MarsError('ERR_INVALID_ARGUMENT', `mode must be 'rescale' or 'exact-l1', got '${String(mode)}'`);
  }
  return native().projectMars(w.handle, w0?.handle ?? null, radius, mode);
}

/** One tensor of `projectMarsMany`. */
export interface MarsTask {
  w: Tensor;
  /** The snapshot; `null` centres the ball at zero (the new head). */
  w0: Tensor | null;
  radius: number;
}

/**
 * `projectMars` over many tensors in one native pass (every constrained weight
 * of a network after a step): the same results, row for row, with one
 * parallel region on CPU and one kernel launch per 48 tensors on CUDA instead
 * of one per tensor. All tasks must be on one device; every task is validated
 * before any is written. Returns the statistics of each task, in order.
 */
export async function projectMarsMany(tasks: readonly MarsTask[], options: MarsProjectionOptions = {}): Promise<ProjectionStats[]> {
  if (!Array.isArray(tasks)) throw new MarsError('ERR_INVALID_ARGUMENT', 'tasks must be an array of { w, w0, radius }');
  tasks.forEach((t, i) => {
    checkTensor(t?.w, `tasks[${i}].w`);
    if (t.w0 !== null) checkTensor(t.w0, `tasks[${i}].w0`);
    checkRadius(t.radius);
  });
  const mode = options.mode ?? 'rescale';
  if (mode !== 'rescale' && mode !== 'exact-l1') {
    throw new MarsError('ERR_INVALID_ARGUMENT', `mode must be 'rescale' or 'exact-l1', got '${String(mode)}'`);
  }
  return native().projectMarsMany(
    tasks.map((t) => ({ w: t.w.handle, w0: t.w0?.handle ?? null, radius: t.radius })),
    mode,
  );
}

/** Frobenius projection of the whole tensor: `W = W0 + t / max(1, ||t||_F / radius)`, `t = W - W0`. In place on `w`. */
export async function projectFrobenius(w: Tensor, w0: Tensor | null, radius: number): Promise<ProjectionStats> {
  checkTensor(w, 'w');
  if (w0 !== null) checkTensor(w0, 'w0');
  checkRadius(radius);
  return native().projectFrobenius(w.handle, w0?.handle ?? null, radius);
}

/**
 * BatchNorm scale clip: with `s = weight / sqrt(runningVar + eps)` and `s0`
 * the same from the snapshot (its weight and its running variance), clips
 * `s - s0` to `[-radius, radius]` and sets `weight = (s0 + t) * sqrt(runningVar + eps)`.
 * In place on `weight`; channels inside the box are not written.
 */
export async function clipBatchNormScale(
  weight: Tensor,
  runningVar: Tensor,
  weight0: Tensor,
  runningVar0: Tensor,
  radius: number,
  options: BatchNormClipOptions = {},
): Promise<ProjectionStats> {
  checkTensor(weight, 'weight');
  checkTensor(runningVar, 'runningVar');
  checkTensor(weight0, 'weight0');
  checkTensor(runningVar0, 'runningVar0');
  checkRadius(radius);
  const eps = options.eps ?? 1e-6;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0) {
    throw new MarsError('ERR_INVALID_ARGUMENT', `eps must be a finite number >= 0, got ${String(eps)}`);
  }
  return native().clipBatchNormScale(weight.handle, runningVar.handle, weight0.handle, runningVar0.handle, radius, eps);
}
