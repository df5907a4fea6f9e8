#include "train/session_options.h"

#include "core/convert.h"
#include "core/errors.h"
#include "core/tensor.h"

namespace mars {
namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;

// A tensor field, or an undefined tensor when it is null.
at::Tensor NullableTensor(const StrictObject& o, const char* key) {
  return o.IsNull(key) ? at::Tensor() : TensorWrap::FromJs(o.Value(key), o.PathOf(key));
}

OptimizerSpec ReadOptimizer(const StrictObject& o) {
  OptimizerSpec s;
  s.name = o.Choice("name", {"sgd", "adam", "adamw"});
  s.lr = o.Number("lr");
  s.momentum = o.Number("momentum");
  s.nesterov = o.Bool("nesterov");
  s.weightDecay = o.Number("weightDecay");
  s.beta1 = o.Number("beta1");
  s.beta2 = o.Number("beta2");
  s.eps = o.Number("eps");
  s.amsgrad = o.Bool("amsgrad");
  Require(s.lr > 0, o.PathOf("lr") + " must be positive");
  return s;
}

ScalerSpec ReadScaler(const StrictObject& o) {
  ScalerSpec s;
  s.initScale = o.Number("initScale");
  s.growthFactor = o.Number("growthFactor");
  s.backoffFactor = o.Number("backoffFactor");
  s.growthInterval = o.Integer("growthInterval", 1, kMaxSafeInteger);
  Require(s.initScale > 0 && s.growthFactor > 1 && s.backoffFactor > 0 && s.backoffFactor < 1,
          "gradScaler needs initScale > 0, growthFactor > 1 and 0 < backoffFactor < 1");
  return s;
}

}  // namespace

SessionSpec ReadSessionSpec(const Napi::Value& options, const Napi::Value& init) {
  const StrictObject o(options, "options",
                       {"pool", "precision", "gradScaler", "optimizer", "constraints", "penalties", "delta", "bss",
                        "classWeights", "freezeBackbone", "freezeStatistics", "seed"});
  SessionSpec spec;
  spec.pool = o.Bool("pool");
  spec.precision = o.Choice("precision", {"fp32", "bf16", "fp16"});
  if (!o.IsNull("gradScaler")) {
    spec.gradScaler = ReadScaler(o.Object("gradScaler", {"initScale", "growthFactor", "backoffFactor", "growthInterval"}));
  }
  spec.optimizer = ReadOptimizer(
      o.Object("optimizer", {"name", "lr", "momentum", "nesterov", "weightDecay", "beta1", "beta2", "eps", "amsgrad"}));
  for (const auto& c : o.Objects("constraints", {"name", "type", "radius", "centre"})) {
    ConstraintSpec s{c.String("name"), c.Choice("type", {"mars", "frobenius", "batchnorm"}), c.Number("radius"),
                     c.Choice("centre", {"init", "zero"}) == "zero"};
    Require(s.radius >= 0, c.PathOf("radius") + " (of " + s.name + ") must be non-negative");
    spec.constraints.push_back(s);
  }
  for (const auto& p : o.Objects("penalties", {"name", "norm", "weight", "centre"})) {
    PenaltySpec s{p.String("name"), p.Choice("norm", {"mars", "l2sq"}), p.Number("weight"),
                  p.Choice("centre", {"init", "zero"}) == "zero"};
    Require(s.weight >= 0, p.PathOf("weight") + " (of " + s.name + ") must be non-negative");
    spec.penalties.push_back(s);
  }
  if (!o.IsNull("delta")) {
    const StrictObject d = o.Object("delta", {"alpha", "channelWeights"});
    spec.delta = DeltaSpec{d.Number("alpha"), TensorWrap::FromJs(d.Value("channelWeights"), d.PathOf("channelWeights"))};
    Require(spec.delta->channelWeights.dim() == 1, d.PathOf("channelWeights") + " must be one weight per backbone output channel");
  }
  if (!o.IsNull("bss")) {
    const StrictObject b = o.Object("bss", {"eta", "k"});
    spec.bss = BssSpec{b.Number("eta"), b.Integer("k", 1, kMaxSafeInteger)};
  }
  spec.classWeights = NullableTensor(o, "classWeights");
  if (spec.classWeights.defined()) Require(spec.classWeights.dim() == 1, "options.classWeights must be one weight per class");
  spec.freezeBackbone = o.Bool("freezeBackbone");
  spec.freezeStatistics = o.Bool("freezeStatistics");
  spec.seed = static_cast<uint64_t>(o.Integer("seed", 0, kMaxSafeInteger));
  if (init.IsObject()) {
    const auto object = init.As<Napi::Object>();
    const Napi::Array names = object.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
      spec.init[name] = TensorWrap::FromJs(object.Get(name), "init['" + name + "']");
    }
  }
  return spec;
}

DataParallelSpec ReadParallelSpec(const Napi::Value& options) {
  const StrictObject o(options, "data-parallel options", {"syncBatchNorm", "checkEvery"});
  DataParallelSpec spec;
  spec.syncBatchNorm = o.Bool("syncBatchNorm");
  spec.checkEvery = o.Integer("checkEvery", 0, kMaxSafeInteger);
  return spec;
}

}  // namespace mars
