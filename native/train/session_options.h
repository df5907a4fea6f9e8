// Reads a session's options from JS (on the JS thread) into plain C++ values
// that the worker thread can use. TypeScript validates them first (zod); this
// layer re-checks types so that no caller can crash the process.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mars {

struct OptimizerSpec {
  std::string name;  // sgd | adam | adamw
  double lr = 1e-3, momentum = 0, weightDecay = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  bool nesterov = false, amsgrad = false;
};

struct ConstraintSpec {
  std::string name, type;  // type: mars | frobenius | batchnorm
  double radius;
  bool centreZero;
};

struct PenaltySpec {
  std::string name, norm;  // norm: mars | l2sq
  double weight;
  bool centreZero;
};

struct ScalerSpec {
  bool enabled = false;
  double initScale = 65536.0, growthFactor = 2.0, backoffFactor = 0.5;
  int64_t growthInterval = 2000;
};

struct SessionSpec {
  bool pool = false;
  std::string precision = "fp32";  // fp32 | bf16 | fp16: autocast's dtype for forward and loss
  ScalerSpec scaler;
  OptimizerSpec optimizer;
  std::vector<ConstraintSpec> constraints;
  std::vector<PenaltySpec> penalties;
  double deltaAlpha = 0;
  at::Tensor channelWeights;
  double bssEta = 0;
  int64_t bssK = 0;
  at::Tensor classWeights;      // per-class cross-entropy weights; undefined: unweighted
  bool freezeBackbone = false;  // linear probe: only the head trains, the backbone stays in eval mode
  bool freezeStatistics = false;  // the backbone trains in eval mode: BatchNorm normalises with, and keeps, its running statistics
  std::map<std::string, at::Tensor> init;  // given W0 (when resuming); empty: snapshot now
  uint64_t seed = 0;                        // seeds the run's own random streams (train/rng.h)
};

SessionSpec ReadSessionSpec(const Napi::Object& options, const Napi::Value& init);

}  // namespace mars
