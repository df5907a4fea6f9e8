// JS bindings of the projection kernels. Arguments are checked on the JS
// thread; the kernels run on the compute thread, after any step already
// queued there, so a projection never races a running step over the same
// weights. The trainer calls the C++ API directly from its step.
//
//   projectMars(w, w0 | null, radius, mode?)            -> Promise<stats>   mode: 'rescale' | 'exact-l1'
//   projectMarsMany([{ w, w0, radius }], mode?)         -> Promise<stats[]> (one pass over many tensors)
//   projectFrobenius(w, w0 | null, radius)              -> Promise<stats>
//   clipBatchNormScale(weight, runningVar, weight0, runningVar0, radius, eps?) -> Promise<stats>
//
// The benchmark's own bindings (op chains, timed sweeps) are not shipped:
// they live in bench/projection/native/, built by `npm run build:bench`.
#include "kernels/projection_binding.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <string>
#include <vector>

#include <functional>

#include "core/async.h"
#include "core/convert.h"
#include "core/errors.h"
#include "kernels/projection.h"
#include "core/tensor.h"

namespace mars {
namespace {

Napi::Value StatsToJs(Napi::Env env, ProjectionStats& s) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("rows", static_cast<double>(s.rows));
  out.Set("clipped", static_cast<double>(s.clipped));
  out.Set("nonFinite", static_cast<double>(s.nonFinite));
  out.Set("maxDistanceBefore", s.maxDistanceBefore);
  out.Set("maxDistanceAfter", s.maxDistanceAfter);
  const int64_t finite = s.rows - s.nonFinite;
  out.Set("meanDistanceBefore", finite > 0 ? s.sumDistanceBefore / static_cast<double>(finite) : 0.0);
  out.Set("statsValid", s.statsValid);
  return out;
}

double NumberArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (info.Length() <= index || !info[index].IsNumber()) {
    throw CodedError("ERR_INVALID_ARGUMENT", std::string(what) + " must be a number");
  }
  return info[index].As<Napi::Number>().DoubleValue();
}

// A Tensor argument, or an undefined tensor for null/undefined when allowed.
at::Tensor TensorArg(const Napi::CallbackInfo& info, size_t index, const char* what, bool nullable) {
  if (nullable && (info.Length() <= index || info[index].IsNull() || info[index].IsUndefined())) return at::Tensor();
  if (info.Length() <= index) throw CodedError("ERR_INVALID_ARGUMENT", std::string(what) + " must be a Tensor");
  return TensorWrap::FromJs(info[index], what);
}

RowMap ParseMode(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || info[index].IsUndefined() || info[index].IsNull()) return RowMap::kRescale;
  const std::string mode = StringArg(info, index, "mode");
  if (mode == "rescale") return RowMap::kRescale;
  if (mode == "exact-l1") return RowMap::kExactL1;
  throw CodedError("ERR_INVALID_ARGUMENT", "mode must be 'rescale' or 'exact-l1', got '" + mode + "'");
}

// Runs `project` on the compute thread and resolves with its statistics.
Napi::Promise Run(Napi::Env env, const char* what, std::function<ProjectionStats()> project) {
  return RunAsync<ProjectionStats>(env, "ERR_TORCH", what, std::move(project), StatsToJs);
}

Napi::Value ProjectMars(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_TORCH", "projectMars", [&]() -> Napi::Value {
    const at::Tensor w = TensorArg(info, 0, "w", false);
    const at::Tensor w0 = TensorArg(info, 1, "w0", true);
    const double radius = NumberArg(info, 2, "radius");
    ProjectionOptions options;
    options.map = ParseMode(info, 3);
    return Run(env, "projectMars", [w, w0, radius, options]() {
      return ProjectMarsRows(w, w0.defined() ? &w0 : nullptr, radius, options);
    });
  });
}

// projectMarsMany([{ w, w0, radius }, ...], mode?) -> stats[]
Napi::Value ProjectMarsManyJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_TORCH", "projectMarsMany", [&]() -> Napi::Value {
    Require(info.Length() > 0 && info[0].IsArray(), "tasks must be an array of { w, w0, radius }");
    const auto list = info[0].As<Napi::Array>();
    std::vector<MarsTask> tasks;
    for (uint32_t i = 0; i < list.Length(); ++i) {
      const std::string at = "tasks[" + std::to_string(i) + "]";
      Require(list.Get(i).IsObject(), at + " must be an object { w, w0, radius }");
      const auto o = list.Get(i).As<Napi::Object>();
      MarsTask t;
      t.w = TensorWrap::FromJs(o.Get("w"), at + ".w");
      const Napi::Value w0 = o.Get("w0");
      if (!w0.IsNull() && !w0.IsUndefined()) t.w0 = TensorWrap::FromJs(w0, at + ".w0");
      Require(o.Get("radius").IsNumber(), at + ".radius must be a number");
      t.radius = o.Get("radius").As<Napi::Number>().DoubleValue();
      tasks.push_back(std::move(t));
    }
    ProjectionOptions options;
    options.map = ParseMode(info, 1);
    return RunAsync<std::vector<ProjectionStats>>(
        env, "ERR_TORCH", "projectMarsMany", [tasks, options]() { return ProjectMarsRowsMany(tasks, options); },
        [](Napi::Env env, std::vector<ProjectionStats>& stats) -> Napi::Value {
          Napi::Array out = Napi::Array::New(env, stats.size());
          for (size_t i = 0; i < stats.size(); ++i) out.Set(static_cast<uint32_t>(i), StatsToJs(env, stats[i]));
          return out;
        });
  });
}

Napi::Value ProjectFrobeniusJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_TORCH", "projectFrobenius", [&]() -> Napi::Value {
    const at::Tensor w = TensorArg(info, 0, "w", false);
    const at::Tensor w0 = TensorArg(info, 1, "w0", true);
    const double radius = NumberArg(info, 2, "radius");
    return Run(env, "projectFrobenius", [w, w0, radius]() { return ProjectFrobenius(w, w0.defined() ? &w0 : nullptr, radius); });
  });
}

Napi::Value ClipBatchNormScaleJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_TORCH", "clipBatchNormScale", [&]() -> Napi::Value {
    const at::Tensor weight = TensorArg(info, 0, "weight", false);
    const at::Tensor runningVar = TensorArg(info, 1, "runningVar", false);
    const at::Tensor weight0 = TensorArg(info, 2, "weight0", false);
    const at::Tensor runningVar0 = TensorArg(info, 3, "runningVar0", false);
    const double radius = NumberArg(info, 4, "radius");
    const double eps = info.Length() > 5 && !info[5].IsUndefined() && !info[5].IsNull() ? NumberArg(info, 5, "eps") : 1e-6;
    return Run(env, "clipBatchNormScale", [weight, runningVar, weight0, runningVar0, radius, eps]() {
      return ClipBatchNormScale(weight, runningVar, weight0, runningVar0, radius, eps);
    });
  });
}

}  // namespace

void InitProjection(Napi::Env env, Napi::Object exports) {
  exports.Set("projectMars", Napi::Function::New(env, ProjectMars, "projectMars"));
  exports.Set("projectMarsMany", Napi::Function::New(env, ProjectMarsManyJs, "projectMarsMany"));
  exports.Set("projectFrobenius", Napi::Function::New(env, ProjectFrobeniusJs, "projectFrobenius"));
  exports.Set("clipBatchNormScale", Napi::Function::New(env, ClipBatchNormScaleJs, "clipBatchNormScale"));
}

}  // namespace mars
