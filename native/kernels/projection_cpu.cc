#include "projection.h"

namespace mars {

ProjectionStats ProjectMarsRows(at::Tensor& w, const at::Tensor* w0, double radius) {
  at::Tensor diff = (w0 ? w - *w0 : w.clone()).reshape({w.size(0), -1});
  at::Tensor sums = diff.abs().sum(1);
  at::Tensor scale = (radius / sums).clamp_max(1.0);
  diff.mul_(scale.unsqueeze(1));
  w.copy_((w0 ? *w0 + diff.view_as(w) : diff.view_as(w)));
  return {w.size(0), (sums > radius).sum().item<int64_t>(), sums.max().item<double>()};
}

ProjectionStats ProjectFrobenius(at::Tensor& w, const at::Tensor* w0, double radius) {
  at::Tensor diff = w0 ? w - *w0 : w.clone();
  const double norm = diff.norm().item<double>();
  const double factor = std::max(1.0, norm / radius);
  w.copy_(w0 ? *w0 + diff / factor : diff / factor);
  return {1, factor > 1.0 ? 1 : 0, norm};
}

void ClipBatchNormScale(at::Tensor& weight, const at::Tensor& runningVar, const at::Tensor& weight0,
                        const at::Tensor& runningVar0, double radius, double eps) {
  at::Tensor root = (runningVar + eps).sqrt();
  at::Tensor s = weight / root;
  at::Tensor s0 = weight0 / (runningVar0 + eps).sqrt();
  weight.copy_((s0 + (s - s0).clamp(-radius, radius)) * root);
}

}  // namespace mars
