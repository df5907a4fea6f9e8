#include "bound/bindings.h"

#include <cstring>
#include <mutex>
#include <unordered_map>

#include "core/async.h"
#include "core/convert.h"
#include "core/errors.h"
#include "bound/graph.h"
#include "core/module.h"
#include "bound/norms.h"
#include "core/tensor.h"

namespace mars {
namespace {

c10::optional<at::Tensor> OptionalTensor(const Napi::Value& value, const std::string& what) {
  if (value.IsUndefined() || value.IsNull()) return c10::nullopt;
  return TensorWrap::FromJs(value, what);
}

Napi::Float64Array ToFloat64Array(Napi::Env env, const at::Tensor& t) {
  const at::Tensor flat = t.to(at::kDouble).contiguous().reshape({-1});
  Napi::Float64Array array = Napi::Float64Array::New(env, static_cast<size_t>(flat.numel()));
  if (flat.numel() > 0) std::memcpy(array.Data(), flat.data_ptr<double>(), flat.numel() * sizeof(double));
  return array;
}

// The constants the graph walk reads (numbers, flags, None, strings and lists of them).
Napi::Value ConstantToJs(Napi::Env env, const c10::IValue& v) {
  if (v.isNone()) return env.Null();
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isList()) {
    const auto items = v.toListRef();
    Napi::Array array = Napi::Array::New(env, items.size());
    for (size_t i = 0; i < items.size(); ++i) array.Set(uint32_t(i), ConstantToJs(env, items[i]));
    return array;
  }
  return env.Undefined();
}

Napi::Array IndicesToJs(Napi::Env env, const std::vector<int64_t>& indices) {
  Napi::Array array = Napi::Array::New(env, indices.size());
  for (size_t i = 0; i < indices.size(); ++i) array.Set(uint32_t(i), Napi::Number::New(env, double(indices[i])));
  return array;
}

Napi::Value GraphToJs(Napi::Env env, const ModuleGraph& g) {
  Napi::Array values = Napi::Array::New(env, g.values.size());
  for (size_t i = 0; i < g.values.size(); ++i) {
    const GraphValue& v = g.values[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", v.name);
    o.Set("type", v.type);
    if (!v.param.empty()) o.Set("param", v.param);
    if (v.isConstant) {
      o.Set("isConstant", true);
      o.Set("constant", ConstantToJs(env, v.constant));
    }
    if (v.hasShape) o.Set("shape", ShapeToJs(env, v.shape));
    values.Set(uint32_t(i), o);
  }
  Napi::Array nodes = Napi::Array::New(env, g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const GraphNode& n = g.nodes[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("kind", n.kind);
    o.Set("inputs", IndicesToJs(env, n.inputs));
    o.Set("outputs", IndicesToJs(env, n.outputs));
    o.Set("hasBlocks", n.hasBlocks);
    o.Set("scope", n.scope);
    o.Set("source", n.source);
    nodes.Set(uint32_t(i), o);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("values", values);
  out.Set("nodes", nodes);
  out.Set("input", Napi::Number::New(env, double(g.input)));
  out.Set("outputs", IndicesToJs(env, g.outputs));
  return out;
}

std::vector<int64_t> Ints(const Napi::Object& o, const char* key) { return ShapeFromJs(o.Get(key), key); }

// boundGraph(module, sample) -> Promise<graph>
Napi::Value BoundGraph(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "boundGraph", [&]() -> Napi::Value {
    auto state = ModuleWrap::FromJs(info[0], "model");
    const at::Tensor sample = TensorWrap::FromJs(info[1], "sample");
    return RunAsync<ModuleGraph>(
        env, "ERR_BOUND_UNSUPPORTED", "cannot read the forward graph",
        [state, sample]() {
          std::lock_guard<std::mutex> lock(state->mutex);
          return ExportForwardGraph(state->module, sample);
        },
        [](Napi::Env env, ModuleGraph& g) { return GraphToJs(env, g); });
  });
}

c10::optional<at::Tensor> OptionalField(const Napi::Object& o, const char* key) { return OptionalTensor(o.Get(key), key); }

c10::optional<BatchNormTensors> BatchNormFromJs(const Napi::Value& value) {
  if (value.IsUndefined() || value.IsNull()) return c10::nullopt;
  Require(value.IsObject(), "batchnorm must be an object");
  const auto o = value.As<Napi::Object>();
  BatchNormTensors bn;
  bn.weight = OptionalField(o, "weight");
  bn.bias = OptionalField(o, "bias");
  bn.runningMean = TensorWrap::FromJs(o.Get("runningMean"), "batchnorm.runningMean");
  bn.runningVar = TensorWrap::FromJs(o.Get("runningVar"), "batchnorm.runningVar");
  Require(o.Get("eps").IsNumber(), "batchnorm.eps must be a number");
  bn.eps = o.Get("eps").As<Napi::Number>().DoubleValue();
  return bn;
}

ConvSpec ConvFromJs(const Napi::Object& o) {
  ConvSpec spec;
  spec.inputShape = Ints(o, "inputShape");
  spec.stride = Ints(o, "stride");
  spec.dilation = Ints(o, "dilation");
  if (o.Get("padding").IsString()) {
    spec.paddingMode = o.Get("padding").As<Napi::String>().Utf8Value();
  } else {
    spec.padding = Ints(o, "padding");
  }
  Require(o.Get("groups").IsNumber(), "conv.groups must be a number");
  spec.groups = o.Get("groups").As<Napi::Number>().Int64Value();
  return spec;
}

LayerInput LayerFromJs(const Napi::Value& value) {
  Require(value.IsObject(), "layer must be an object");
  const auto o = value.As<Napi::Object>();
  LayerInput in;
  in.weight = TensorWrap::FromJs(o.Get("weight"), "weight");
  // An absent initial weight is zero (a new head).
  in.initWeight = OptionalField(o, "initWeight").value_or(at::zeros_like(in.weight));
  in.bias = OptionalField(o, "bias");
  in.initBias = OptionalField(o, "initBias");
  in.transpose = o.Get("transpose").ToBoolean().Value();
  in.batchnorm = BatchNormFromJs(o.Get("batchnorm"));
  in.initBatchnorm = BatchNormFromJs(o.Get("initBatchnorm"));
  if (o.Get("op").IsString()) in.op = o.Get("op").As<Napi::String>().Utf8Value();
  Require(in.op.empty() || in.op == "linear" || in.op == "conv" || in.op == "diagonal",
          "op must be 'linear', 'conv' or 'diagonal'");
  if (in.op == "conv") {
    Require(o.Get("conv").IsObject(), "a conv layer needs its conv spec");
    in.conv = ConvFromJs(o.Get("conv").As<Napi::Object>());
  }
  return in;
}

// measureLayer({ weight, initWeight?, bias?, initBias?, transpose?, batchnorm?, initBatchnorm?, op?, conv? })
// -> Promise<{ norm, initNorm, distance, bias, initBias, biasDistance, frobeniusDistance, l21Distance,
//              spectral? }>
Napi::Value MeasureLayerJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "measureLayer", [&]() -> Napi::Value {
    const LayerInput in = LayerFromJs(info[0]);
    return RunAsync<LayerMeasure>(
        env, "ERR_TORCH", "cannot measure a layer", [in]() { return MeasureLayer(in); },
        [](Napi::Env env, LayerMeasure& m) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          o.Set("norm", ToFloat64Array(env, m.rows.norm));
          o.Set("initNorm", ToFloat64Array(env, m.rows.initNorm));
          o.Set("distance", ToFloat64Array(env, m.rows.distance));
          o.Set("bias", ToFloat64Array(env, m.rows.bias));
          o.Set("initBias", ToFloat64Array(env, m.rows.initBias));
          o.Set("biasDistance", ToFloat64Array(env, m.rows.biasDistance));
          o.Set("frobeniusDistance", m.rows.frobeniusDistance);
          o.Set("l21Distance", m.rows.l21Distance);
          if (m.spectral >= 0) o.Set("spectral", m.spectral);
          return o;
        });
  });
}

// foldBatchNorm(weight, bias?, batchnorm) -> Promise<{ weight, bias, scale }>, float64.
Napi::Value FoldBatchNormJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "foldBatchNorm", [&]() -> Napi::Value {
    const at::Tensor weight = TensorWrap::FromJs(info[0], "weight");
    const auto bias = OptionalTensor(info[1], "bias");
    const auto bn = BatchNormFromJs(info[2]);
    Require(bn.has_value(), "batchnorm must be given");
    return RunAsync<Folded>(
        env, "ERR_TORCH", "cannot fold BatchNorm", [=]() { return FoldBatchNorm(weight, bias, *bn); },
        [](Napi::Env env, Folded& f) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          for (const auto& [key, t] : {std::pair<const char*, at::Tensor&>{"weight", f.weight}, {"bias", f.bias}, {"scale", f.scale}}) {
            o.Set(key, TensorWrap::Wrap(env, t, TensorBytes(t)));
          }
          return o;
        });
  });
}

// initialNetwork(model, init, pairs) -> Promise<Module>: a copy of `model` whose
// tensors come from `init` by the [modelName, initName | null] pairs; null
// starts that tensor at zero.
Napi::Value InitialNetwork(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "initialNetwork", [&]() -> Napi::Value {
    auto model = ModuleWrap::FromJs(info[0], "model");
    auto init = ModuleWrap::FromJs(info[1], "init");
    Require(info[2].IsArray(), "pairs must be an array");
    std::vector<std::pair<std::string, std::string>> pairs;
    const auto array = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); ++i) {
      const auto pair = array.Get(i).As<Napi::Array>();
      const Napi::Value from = pair.Get(1u);
      pairs.emplace_back(pair.Get(0u).ToString().Utf8Value(), from.IsString() ? from.ToString().Utf8Value() : "");
    }
    return RunAsync<std::shared_ptr<ModuleState>>(
        env, "ERR_BOUND_INIT", "cannot build the initial network",
        [model, init, pairs]() {
          std::unique_lock<std::mutex> lockModel(model->mutex, std::defer_lock);
          std::unique_lock<std::mutex> lockInit(init->mutex, std::defer_lock);
          if (model == init) {
            lockModel.lock();
          } else {
            std::lock(lockModel, lockInit);
          }
          torch::jit::Module copy = DeepCopy(model->module);
          std::unordered_map<std::string, at::Tensor> target, source;
          for (const auto& p : copy.named_parameters(true)) target[p.name] = p.value;
          for (const auto& b : copy.named_buffers(true)) target[b.name] = b.value;
          for (const auto& p : init->module.named_parameters(true)) source[p.name] = p.value;
          for (const auto& b : init->module.named_buffers(true)) source[b.name] = b.value;
          torch::NoGradGuard noGrad;
          for (const auto& [name, from] : pairs) {
            auto to = target.find(name);
            if (to == target.end()) throw CodedError("ERR_BOUND_INIT", "the model has no tensor '" + name + "'");
            if (from.empty()) {
              to->second.zero_();
              continue;
            }
            auto src = source.find(from);
            if (src == source.end()) throw CodedError("ERR_BOUND_INIT", "the initial network has no tensor '" + from + "'");
            if (!src->second.sizes().equals(to->second.sizes())) {
              throw CodedError("ERR_BOUND_INIT", "'" + name + "' has shape [" + c10::Join(", ", to->second.sizes()) +
                                                     "] but the initial network's '" + from + "' has [" +
                                                     c10::Join(", ", src->second.sizes()) + "]");
            }
            to->second.copy_(src->second);
          }
          return std::make_shared<ModuleState>(std::move(copy));
        },
        [](Napi::Env env, std::shared_ptr<ModuleState>& state) -> Napi::Value { return ModuleWrap::Wrap(env, state, ModuleBytes(state->module)); });
  });
}

}  // namespace

void InitBound(Napi::Env env, Napi::Object exports) {
  exports.Set("boundGraph", Napi::Function::New(env, BoundGraph, "boundGraph"));
  exports.Set("measureLayer", Napi::Function::New(env, MeasureLayerJs, "measureLayer"));
  exports.Set("foldBatchNorm", Napi::Function::New(env, FoldBatchNormJs, "foldBatchNorm"));
  exports.Set("initialNetwork", Napi::Function::New(env, InitialNetwork, "initialNetwork"));
}

}  // namespace mars
