// Reads a session's options from JS (on the JS thread) into plain C++ values
// that the worker thread can use. The spec mirrors NativeSessionSpec in
// lib/native/session-spec.ts field for field: TypeScript validates the
// options (zod) and fills in every default there, so nothing here has a
// default of its own. The reader re-checks every field, so that no caller can
// crash the process or have a misspelled field silently ignored.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "distributed/data_parallel.h"

namespace mars {

struct OptimizerSpec {
  std::string name;  // sgd | adam | adamw
  double lr, momentum, weightDecay, beta1, beta2, eps;
  bool nesterov, amsgrad;
};

struct ScalerSpec {
  double initScale, growthFactor, backoffFactor;
  int64_t growthInterval;
};

struct ConstraintSpec {
  std::string name, type;  // type: mars | frobenius | batchnorm
  double radius;
  bool centreZero;  // centre: zero (else init, W0)
};

struct PenaltySpec {
  std::string name, norm;  // norm: mars | l2sq
  double weight;
  bool centreZero;
};

struct DeltaSpec {
  double alpha;
  at::Tensor channelWeights;  // one per backbone output channel
};

struct BssSpec {
  double eta;
  int64_t k;
};

struct SessionSpec {
  bool pool;
  std::string precision;  // fp32 | bf16 | fp16: autocast's dtype for forward and loss
  std::optional<ScalerSpec> gradScaler;
  OptimizerSpec optimizer;
  std::vector<ConstraintSpec> constraints;
  std::vector<PenaltySpec> penalties;
  std::optional<DeltaSpec> delta;
  std::optional<BssSpec> bss;
  at::Tensor classWeights;  // per-class cross-entropy weights; undefined (null): unweighted
  bool freezeBackbone;      // linear probe: only the head trains, the backbone stays in eval mode
  bool freezeStatistics;    // the backbone trains in eval mode: BatchNorm normalises with, and keeps, its running statistics
  uint64_t seed;            // seeds the run's own random streams (train/rng.h)
  std::map<std::string, at::Tensor> init;  // given W0 (when resuming; createSession's own argument); empty: snapshot now
};

SessionSpec ReadSessionSpec(const Napi::Value& options, const Napi::Value& init);

// createSession's data-parallel options (NativeParallelSpec).
DataParallelSpec ReadParallelSpec(const Napi::Value& options);

}  // namespace mars
