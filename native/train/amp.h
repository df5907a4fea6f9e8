// Automatic mixed precision for the training step: LibTorch's autocast
// (forward and loss in bf16 or fp16 where it is safe, parameters kept in
// fp32) and a dynamic loss scale for fp16, whose small range would otherwise
// flush small gradients to zero. LibTorch has no GradScaler (it lives in
// Python); LossScaler does what torch.amp.GradScaler does, with its defaults.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace mars {

// Autocast on `device` with `dtype` for the scope's lifetime (nothing when
// `enabled` is false); restores the previous state as torch.autocast's exit does.
class AutocastScope {
 public:
  AutocastScope(bool enabled, c10::DeviceType device, at::ScalarType dtype);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  c10::DeviceType device_;
  bool previousEnabled_ = false;
  at::ScalarType previousDtype_ = at::kFloat;
};

struct LossScaler {
  bool enabled = false;
  double scale = 65536.0, growthFactor = 2.0, backoffFactor = 0.5;
  int64_t growthInterval = 2000;
  int64_t growthTracker = 0;  // clean steps since the scale last changed

  // Divides every gradient by the scale; true when any of them is inf or NaN
  // (the step must then be skipped).
  bool UnscaleAndCheck(const std::vector<at::Tensor>& params) const;
  // After a step, taken or skipped: back off on overflow, grow after
  // growthInterval clean steps in a row.
  void Update(bool foundInf);
};

}  // namespace mars
