#include "train/session_options.h"

#include "core/convert.h"
#include "core/errors.h"
#include "core/tensor.h"

namespace mars {
namespace {

std::vector<Napi::Object> Objects(const Napi::Object& o, const char* key) {
  std::vector<Napi::Object> out;
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return out;
  Require(v.IsArray(), std::string(key) + " must be an array");
  const auto array = v.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Require(array.Get(i).IsObject(), std::string(key) + " must hold objects");
    out.push_back(array.Get(i).As<Napi::Object>());
  }
  return out;
}

}  // namespace

SessionSpec ReadSessionSpec(const Napi::Object& options, const Napi::Value& init) {
  SessionSpec spec;
  spec.pool = BoolField(options, "pool", false);
  if (!options.Get("precision").IsUndefined()) spec.precision = StringField(options, "precision");
  Require(spec.precision == "fp32" || spec.precision == "bf16" || spec.precision == "fp16", "precision must be fp32, bf16 or fp16");
  if (options.Get("gradScaler").IsObject()) {
    const auto g = options.Get("gradScaler").As<Napi::Object>();
    auto& k = spec.scaler;
    k.enabled = true;
    k.initScale = NumberField(g, "initScale", k.initScale);
    k.growthFactor = NumberField(g, "growthFactor", k.growthFactor);
    k.backoffFactor = NumberField(g, "backoffFactor", k.backoffFactor);
    k.growthInterval = static_cast<int64_t>(NumberField(g, "growthInterval", static_cast<double>(k.growthInterval)));
    Require(k.initScale > 0 && k.growthFactor > 1 && k.backoffFactor > 0 && k.backoffFactor < 1 && k.growthInterval >= 1,
            "gradScaler needs initScale > 0, growthFactor > 1, 0 < backoffFactor < 1 and growthInterval >= 1");
  }
  Require(options.Get("optimizer").IsObject(), "optimizer must be an object");
  const auto opt = options.Get("optimizer").As<Napi::Object>();
  auto& o = spec.optimizer;
  o.name = StringField(opt, "name");
  Require(o.name == "sgd" || o.name == "adam" || o.name == "adamw", "optimizer.name must be sgd, adam or adamw");
  o.lr = NumberField(opt, "lr", o.lr);
  o.momentum = NumberField(opt, "momentum", o.momentum);
  o.weightDecay = NumberField(opt, "weightDecay", o.weightDecay);
  o.beta1 = NumberField(opt, "beta1", o.beta1);
  o.beta2 = NumberField(opt, "beta2", o.beta2);
  o.eps = NumberField(opt, "eps", o.eps);
  o.nesterov = BoolField(opt, "nesterov", false);
  o.amsgrad = BoolField(opt, "amsgrad", false);
  Require(o.lr > 0, "optimizer.lr must be positive");

  for (const auto& c : Objects(options, "constraints")) {
    ConstraintSpec s{StringField(c, "name"), StringField(c, "type"), NumberField(c, "radius", -1), StringField(c, "centre") == "zero"};
    Require(s.type == "mars" || s.type == "frobenius" || s.type == "batchnorm", "constraint type must be mars, frobenius or batchnorm");
    Require(s.radius >= 0, "constraint radius of " + s.name + " must be a non-negative number");
    spec.constraints.push_back(s);
  }
  for (const auto& p : Objects(options, "penalties")) {
    PenaltySpec s{StringField(p, "name"), StringField(p, "norm"), NumberField(p, "weight", -1), StringField(p, "centre") == "zero"};
    Require(s.norm == "mars" || s.norm == "l2sq", "penalty norm must be mars or l2sq");
    Require(s.weight >= 0, "penalty weight of " + s.name + " must be a non-negative number");
    spec.penalties.push_back(s);
  }
  if (options.Get("delta").IsObject()) {
    const auto d = options.Get("delta").As<Napi::Object>();
    spec.deltaAlpha = NumberField(d, "alpha", 0);
    spec.channelWeights = TensorWrap::FromJs(d.Get("channelWeights"), "delta.channelWeights");
  }
  if (options.Get("bss").IsObject()) {
    const auto b = options.Get("bss").As<Napi::Object>();
    spec.bssEta = NumberField(b, "eta", 0);
    spec.bssK = static_cast<int64_t>(NumberField(b, "k", 1));
    Require(spec.bssK >= 1, "bss.k must be at least 1");
  }
  const double seed = NumberField(options, "seed", 0);
  Require(seed >= 0 && seed <= 9007199254740991.0 && seed == std::floor(seed), "seed must be a non-negative safe integer");
  spec.seed = static_cast<uint64_t>(seed);
  if (!options.Get("classWeights").IsUndefined()) {
    spec.classWeights = TensorWrap::FromJs(options.Get("classWeights"), "classWeights");
    Require(spec.classWeights.dim() == 1, "classWeights must be one weight per class");
  }
  spec.freezeBackbone = BoolField(options, "freezeBackbone", false);
  spec.freezeStatistics = BoolField(options, "freezeStatistics", false);
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

}  // namespace mars
