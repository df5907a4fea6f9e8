// Fused in-place projections of method.md: after every optimiser step each
// constrained tensor is mapped back into its ball around the snapshot W0.
//
//   MARS (per output unit r = first axis):   s_r = sum_c |W[r,c] - W0[r,c]|
//       if s_r > radius: W[r,:] = W0[r,:] + (W[r,:] - W0[r,:]) * (radius / s_r)
//   Frobenius (per tensor):                  t = W - W0
//       W = W0 + t / max(1, ||t||_F / radius)
//   BatchNorm scale clip (per channel):      s = weight / sqrt(runningVar + eps), s0 likewise
//       from the snapshot's weight and running variance; t = clamp(s - s0, -radius, radius);
//       weight = (s0 + t) * sqrt(runningVar + eps)
//
// These are the reference's rescaling maps, not Euclidean projections. The
// exact Euclidean projection onto the l1 ball of each row (as in Duchi et al.
// 2008, computed with Michelot's exact iteration on CPU and CUDA)
// is offered as RowMap::kExactL1.
//
// Properties every function here keeps:
//  - In place, no temporary tensors on the fast path: one pass reads W and W0
//    once per row for the distance and rewrites the row (still in cache) only
//    when it lies outside the ball. Rows (channels, tensors) inside the ball are
//    not written at all, so they stay bit-identical and repeated projections do
//    not drift by rounding.
//  - Any layout: a tensor whose rows are dense blocks of memory (contiguous or
//    channels-last, W and W0 with the same strides) takes the fused path; any
//    other layout is handled correctly through a contiguous working copy.
//  - Writes go straight to the storage, so they work on parameters that require
//    grad (no autograd involvement; callers normally hold a NoGradGuard). The
//    tensor's version counter is bumped when something was written, as an
//    in-place op would.
//  - Validation raises mars::CodedError: ERR_DTYPE (not float32/float64, or W0 of
//    another dtype), ERR_SHAPE, ERR_DEVICE (different devices, or CUDA tensors in
//    a build without CUDA), ERR_INVALID_ARGUMENT (negative or non-finite radius).
//  - Rows whose distance is not finite (NaN/Inf in W or W0) are left unchanged
//    and counted in ProjectionStats::nonFinite: a diverged run shows up there.
//
// CPU: at::parallel_for over rows (grain sized to ~32K elements), inner loops
// vectorised (AVX2 clone picked at load time on x86-64 Linux). CUDA (builds whose
// LibTorch has CUDA): one warp per row for short rows, one block per row for
// long ones, on the current stream, with no host synchronisation unless
// statistics are asked for.
//
// This header depends on ATen only (no Node-API), so the kernels also build as a
// plain PyTorch extension (scripts/gpu-check/).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace mars {

// Which map a row projection applies.
enum class RowMap {
  kRescale,  // the reference's rescaling of W - W0 (default)
  kExactL1,  // exact Euclidean projection of each row onto the l1 ball (Michelot's iteration, exact)
};

struct ProjectionOptions {
  RowMap map = RowMap::kRescale;
  // CPU statistics are free and always exact. On CUDA they need a device-to-host
  // copy (a synchronisation); with collectStats = false a CUDA call returns at
  // once and only `rows` is filled (statsValid = false).
  bool collectStats = true;
};

// What one call saw and did. "Distance" is the l1 distance of a row for MARS,
// the Frobenius distance of the tensor for ProjectFrobenius (one "row"), and
// |s - s0| of a channel for ClipBatchNormScale.
struct ProjectionStats {
  int64_t rows = 0;               // rows (tensors, channels) examined
  int64_t clipped = 0;            // rows that were outside the ball and rewritten
  int64_t nonFinite = 0;          // rows whose distance was NaN/Inf (left unchanged)
  double maxDistanceBefore = 0;   // largest finite distance before the projection
  double maxDistanceAfter = 0;    // largest finite distance after it (<= radius up to rounding)
  double sumDistanceBefore = 0;   // sum of finite distances before (mean = sum / (rows - nonFinite))
  bool statsValid = true;         // false when a CUDA call skipped collecting them
};

// MARS row projection of `w` (>= 1-D; row = everything after the first axis)
// around `w0` (same shape, dtype, device), or around zero when w0 is null (the
// new head). Modifies w in place.
ProjectionStats ProjectMarsRows(const at::Tensor& w, const at::Tensor* w0, double radius,
                                const ProjectionOptions& options = {});

// One tensor of a batched MARS projection.
struct MarsTask {
  at::Tensor w;       // projected in place
  at::Tensor w0;      // the snapshot; undefined = centred at zero (the new head)
  double radius = 0;
};

// ProjectMarsRows over many tensors at once (e.g. every constrained weight of a
// network after an optimiser step): the same map and, row for row, the same
// results as calling ProjectMarsRows on each task, with statistics per task.
// CPU: one parallel region for all rows of all tensors, split into pieces of
// ~32K elements, so small tensors do not each pay a thread fork/join (which
// also stalls badly when another process holds a core). CUDA: one launch per
// 48 tensors, one warp per row, instead of one launch per tensor. Every task
// is validated before anything is written; all tasks must be on one device.
std::vector<ProjectionStats> ProjectMarsRowsMany(const std::vector<MarsTask>& tasks,
                                                 const ProjectionOptions& options = {});

// Frobenius projection of the whole tensor around w0 (or zero). In place. Two
// passes over the tensor (the norm is global), the second only when clipped.
ProjectionStats ProjectFrobenius(const at::Tensor& w, const at::Tensor* w0, double radius,
                                 const ProjectionOptions& options = {});

// BatchNorm scale clip of `weight` (1-D, C) given the current running variance
// and the snapshot's weight and running variance (all 1-D of C, same dtype and
// device). In place on `weight`; channels inside the box are not written.
// Arithmetic in double.
ProjectionStats ClipBatchNormScale(const at::Tensor& weight, const at::Tensor& runningVar, const at::Tensor& weight0,
                                   const at::Tensor& runningVar0, double radius, double eps = 1e-6,
                                   const ProjectionOptions& options = {});

namespace detail {

// The CUDA kernels (projection_cuda.cu), called after validation by the
// functions above with tensors already laid out for the fused path.
// `w0` may be undefined (centred at zero).
ProjectionStats ProjectMarsRowsCuda(const at::Tensor& w, const at::Tensor& w0, int64_t rows, int64_t rowLen,
                                    double radius, RowMap map, bool collectStats);
// Batched MARS rescale: tensors of one dtype on one device, rows dense blocks.
std::vector<ProjectionStats> ProjectMarsRowsManyCuda(const std::vector<at::Tensor>& ws, const std::vector<at::Tensor>& w0s,
                                                     const std::vector<double>& radii, bool collectStats);
ProjectionStats ProjectFrobeniusCuda(const at::Tensor& w, const at::Tensor& w0, double radius, bool collectStats);
ProjectionStats ClipBatchNormScaleCuda(const at::Tensor& weight, const at::Tensor& runningVar, const at::Tensor& weight0,
                                       const at::Tensor& runningVar0, double radius, double eps, bool collectStats);

}  // namespace detail
}  // namespace mars
