// Projections of weights back into their balls (method.md). PROVISIONAL op-chain
// version; the fused kernels replace it.
#pragma once

#include <ATen/ATen.h>

namespace mars {

struct ProjectionStats {
  int64_t rows = 0;
  int64_t clipped = 0;
  double maxDistanceBefore = 0;
};

ProjectionStats ProjectMarsRows(at::Tensor& w, const at::Tensor* w0, double radius);
ProjectionStats ProjectFrobenius(at::Tensor& w, const at::Tensor* w0, double radius);
void ClipBatchNormScale(at::Tensor& weight, const at::Tensor& runningVar, const at::Tensor& weight0,
                        const at::Tensor& runningVar0, double radius, double eps = 1e-6);

}  // namespace mars
