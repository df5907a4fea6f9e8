#include "distributed/bindings.h"

#include "core/async.h"
#include "core/convert.h"
#include "core/errors.h"

namespace mars {
namespace {

GroupSpec ReadGroupSpec(const Napi::Value& options) {
  const StrictObject o(options, "options", {"masterAddr", "masterPort", "rank", "worldSize", "backend", "device", "interface",
                                            "host", "timeout", "joinTimeout"});
  GroupSpec s;
  s.masterAddr = o.String("masterAddr");
  s.masterPort = static_cast<int>(o.Integer("masterPort", 1, 65535));
  s.worldSize = static_cast<int>(o.Integer("worldSize", 1, kMaxWorldSize));
  s.rank = static_cast<int>(o.Integer("rank", 0, s.worldSize - 1));
  s.backend = o.Choice("backend", {"gloo", "nccl"});
  s.device = ParseDevice(o.String("device"));
  if (!o.IsNull("interface")) s.interface = o.String("interface");
  if (!o.IsNull("host")) s.host = o.String("host");
  s.timeoutSeconds = o.Number("timeout");
  s.joinTimeoutSeconds = o.Number("joinTimeout");
  Require((s.backend == "nccl") == s.device.is_cuda(), "backend nccl goes with a CUDA device, gloo with the CPU");
  Require(s.timeoutSeconds >= 1 && s.joinTimeoutSeconds >= 1 && s.timeoutSeconds <= kMaxTimeoutSeconds &&
              s.joinTimeoutSeconds <= kMaxTimeoutSeconds,
          "timeouts must be from 1 second to " + std::to_string(static_cast<int>(kMaxTimeoutSeconds)) + " (a week)");
  return s;
}

}  // namespace

void ProcessGroupWrap::Init(Napi::Env env, Napi::Object exports) {
  Register(env, exports,
           {
               InstanceAccessor<&ProcessGroupWrap::Rank>("rank"),
               InstanceAccessor<&ProcessGroupWrap::WorldSize>("worldSize"),
               InstanceMethod<&ProcessGroupWrap::AllReduce>("allReduce"),
               InstanceMethod<&ProcessGroupWrap::Exchange>("exchange"),
               InstanceMethod<&ProcessGroupWrap::Barrier>("barrier"),
               InstanceMethod<&ProcessGroupWrap::ReportFailure>("reportFailure"),
               InstanceMethod<&ProcessGroupWrap::Shutdown>("shutdown"),
           });
  exports.Set("createProcessGroup", Napi::Function::New(env, &ProcessGroupWrap::Create, "createProcessGroup"));
}

// createProcessGroup({ masterAddr, masterPort, rank, worldSize, backend, device, interface, host, timeout, joinTimeout })
Napi::Value ProcessGroupWrap::Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "createProcessGroup", [&]() -> Napi::Value {
    const GroupSpec spec = ReadGroupSpec(info[0]);
    return RunAsync<std::shared_ptr<DistributedGroup>>(
        env, "ERR_DISTRIBUTED", "", [spec]() { return std::make_shared<DistributedGroup>(spec); },
        [](Napi::Env env, std::shared_ptr<DistributedGroup>& g) -> Napi::Value { return Wrap(env, g); });
  });
}

Napi::Value ProcessGroupWrap::Rank(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), Get(info)->rank()); }

Napi::Value ProcessGroupWrap::WorldSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), Get(info)->worldSize());
}

// allReduce(Float64Array) -> Promise<Float64Array>: the element-wise sum over every rank.
Napi::Value ProcessGroupWrap::AllReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "allReduce", [&]() -> Napi::Value {
    Require(info.Length() > 0 && info[0].IsTypedArray() &&
                info[0].As<Napi::TypedArray>().TypedArrayType() == napi_float64_array,
            "values must be a Float64Array");
    auto array = info[0].As<Napi::Float64Array>();
    const at::Tensor values = at::from_blob(array.Data(), {static_cast<int64_t>(array.ElementLength())}, at::kDouble).clone();
    auto g = Get(info);
    return RunAsync<at::Tensor>(
        env, "ERR_DISTRIBUTED", "",
        [g, values]() {
          // NCCL reduces device tensors only: each rank's own device.
          at::Tensor t = values.to(g->spec().device);
          g->AllReduceSum({t}, "reducing metrics");
          return t.cpu();
        },
        [](Napi::Env env, at::Tensor& t) -> Napi::Value {
          auto out = Napi::Float64Array::New(env, t.numel());
          std::copy(t.data_ptr<double>(), t.data_ptr<double>() + t.numel(), out.Data());
          return out;
        });
  });
}

// exchange(key, value) -> Promise<string[]>: every rank's value, in rank order.
Napi::Value ProcessGroupWrap::Exchange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "exchange", [&]() -> Napi::Value {
    const std::string key = StringArg(info, 0, "key"), value = StringArg(info, 1, "value");
    auto g = Get(info);
    return RunAsync<std::vector<std::string>>(
        env, "ERR_DISTRIBUTED", "", [g, key, value]() { return g->Exchange(key, value); },
        [](Napi::Env env, std::vector<std::string>& all) -> Napi::Value {
          Napi::Array out = Napi::Array::New(env, all.size());
          for (size_t i = 0; i < all.size(); ++i) out.Set(static_cast<uint32_t>(i), all[i]);
          return out;
        });
  });
}

Napi::Value ProcessGroupWrap::Barrier(const Napi::CallbackInfo& info) {
  auto g = Get(info);
  return RunAsync<bool>(
      info.Env(), "ERR_DISTRIBUTED", "", [g]() { g->Barrier(); return true; },
      [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
}

// reportFailure(message) -> Promise<void>: best effort, never rejects.
Napi::Value ProcessGroupWrap::ReportFailure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "reportFailure", [&]() -> Napi::Value {
    const std::string message = StringArg(info, 0, "message");
    auto g = Get(info);
    return RunAsync<bool>(
        env, "ERR_DISTRIBUTED", "", [g, message]() { g->ReportFailure(message); return true; },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
  });
}

// shutdown() -> Promise<void>: leaves the job (after the work queued before it).
Napi::Value ProcessGroupWrap::Shutdown(const Napi::CallbackInfo& info) {
  auto g = Get(info);
  return RunAsync<bool>(
      info.Env(), "ERR_DISTRIBUTED", "", [g]() { g->Shutdown(); return true; },
      [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
}

}  // namespace mars
