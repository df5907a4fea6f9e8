#include "train/amp.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cmath>

namespace mars {
namespace {

// LibTorch 2.4 made autocast's switches per device type; 1.13 to 2.3 have one pair per backend.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool IsEnabled(c10::DeviceType d) { return at::autocast::is_autocast_enabled(d); }
void SetEnabled(c10::DeviceType d, bool on) { at::autocast::set_autocast_enabled(d, on); }
at::ScalarType GetDtype(c10::DeviceType d) { return at::autocast::get_autocast_dtype(d); }
void SetDtype(c10::DeviceType d, at::ScalarType t) { at::autocast::set_autocast_dtype(d, t); }
#else
bool IsEnabled(c10::DeviceType d) { return d == c10::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(); }
void SetEnabled(c10::DeviceType d, bool on) { d == c10::kCUDA ? at::autocast::set_enabled(on) : at::autocast::set_cpu_enabled(on); }
at::ScalarType GetDtype(c10::DeviceType d) {
  return d == c10::kCUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
void SetDtype(c10::DeviceType d, at::ScalarType t) {
  d == c10::kCUDA ? at::autocast::set_autocast_gpu_dtype(t) : at::autocast::set_autocast_cpu_dtype(t);
}
#endif

}  // namespace

AutocastScope::AutocastScope(bool enabled, c10::DeviceType device, at::ScalarType dtype) : enabled_(enabled), device_(device) {
  if (!enabled_) return;
  previousEnabled_ = IsEnabled(device_);
  previousDtype_ = GetDtype(device_);
  SetEnabled(device_, true);
  SetDtype(device_, dtype);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  // The cache of casted weights lives as long as the outermost autocast region.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  SetEnabled(device_, previousEnabled_);
  SetDtype(device_, previousDtype_);
}

bool LossScaler::UnscaleAndCheck(const std::vector<at::Tensor>& params) const {
  std::vector<at::Tensor> grads;
  for (const auto& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) return false;
  const auto options = grads.front().options().dtype(at::kFloat);
  if (grads.front().is_cuda()) {
    // ATen's fused kernel (what GradScaler calls): one pass, no synchronisation until the flag is read.
    at::Tensor found = at::zeros({1}, options);
    at::_amp_foreach_non_finite_check_and_unscale_(grads, found, at::full({1}, 1.0 / scale, options));
    return found.item<float>() != 0.0f;
  }
  at::Tensor nonFinite = at::zeros({}, options.dtype(at::kBool));
  for (auto& g : grads) {
    g.mul_(1.0 / scale);
    nonFinite.logical_or_(at::isfinite(g).logical_not().any());
  }
  return nonFinite.item<bool>();
}

void LossScaler::Update(bool foundInf) {
  if (foundInf) {
    scale *= backoffFactor;
    growthTracker = 0;
    return;
  }
  if (++growthTracker == growthInterval) {
    // As GradScaler, whose scale is a float32: grow only while that stays finite.
    if (std::isfinite(static_cast<float>(scale * growthFactor))) scale *= growthFactor;
    growthTracker = 0;
  }
}

}  // namespace mars
