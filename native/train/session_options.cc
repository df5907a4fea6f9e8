#include "train/session_options.h"

#include "core/errors.h"
#include "core/tensor.h"

namespace mars {
namespace {

double Num(const Napi::Object& o, const char* key, double fallback) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  Require(v.IsNumber(), std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  Require(std::isfinite(d), std::string(key) + " must be finite");
  return d;
}

bool Bool(const Napi::Object& o, const char* key, bool fallback) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  Require(v.IsBoolean(), std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string Str(const Napi::Object& o, const char* key) {
  const Napi::Value v = o.Get(key);
  Require(v.IsString(), std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

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
  spec.pool = Bool(options, "pool", false);
  Require(options.Get("optimizer").IsObject(), "optimizer must be an object");
  const auto opt = options.Get("optimizer").As<Napi::Object>();
  auto& o = spec.optimizer;
  o.name = Str(opt, "name");
  Require(o.name == "sgd" || o.name == "adam" || o.name == "adamw", "optimizer.name must be sgd, adam or adamw");
  o.lr = Num(opt, "lr", o.lr);
  o.momentum = Num(opt, "momentum", o.momentum);
  o.weightDecay = Num(opt, "weightDecay", o.weightDecay);
  o.beta1 = Num(opt, "beta1", o.beta1);
  o.beta2 = Num(opt, "beta2", o.beta2);
  o.eps = Num(opt, "eps", o.eps);
  o.nesterov = Bool(opt, "nesterov", false);
  o.amsgrad = Bool(opt, "amsgrad", false);
  Require(o.lr > 0, "optimizer.lr must be positive");

  for (const auto& c : Objects(options, "constraints")) {
    ConstraintSpec s{Str(c, "name"), Str(c, "type"), Num(c, "radius", -1), Str(c, "centre") == "zero"};
    Require(s.type == "mars" || s.type == "frobenius" || s.type == "batchnorm", "constraint type must be mars, frobenius or batchnorm");
    Require(s.radius >= 0, "constraint radius of " + s.name + " must be a non-negative number");
    spec.constraints.push_back(s);
  }
  for (const auto& p : Objects(options, "penalties")) {
    PenaltySpec s{Str(p, "name"), Str(p, "norm"), Num(p, "weight", -1), Str(p, "centre") == "zero"};
    Require(s.norm == "mars" || s.norm == "l2sq", "penalty norm must be mars or l2sq");
    Require(s.weight >= 0, "penalty weight of " + s.name + " must be a non-negative number");
    spec.penalties.push_back(s);
  }
  if (options.Get("delta").IsObject()) {
    const auto d = options.Get("delta").As<Napi::Object>();
    spec.deltaAlpha = Num(d, "alpha", 0);
    spec.channelWeights = TensorWrap::FromJs(d.Get("channelWeights"), "delta.channelWeights");
  }
  if (options.Get("bss").IsObject()) {
    const auto b = options.Get("bss").As<Napi::Object>();
    spec.bssEta = Num(b, "eta", 0);
    spec.bssK = static_cast<int64_t>(Num(b, "k", 1));
    Require(spec.bssK >= 1, "bss.k must be at least 1");
  }
  if (!options.Get("classWeights").IsUndefined()) {
    spec.classWeights = TensorWrap::FromJs(options.Get("classWeights"), "classWeights");
    Require(spec.classWeights.dim() == 1, "classWeights must be one weight per class");
  }
  spec.freezeBackbone = Bool(options, "freezeBackbone", false);
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
