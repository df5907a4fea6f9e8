// The projection benchmark's own addon (bench/projection/run.mjs), built
// apart from the shipped one by `npm run build:bench`: the MARS and Frobenius
// maps written as chains of LibTorch ops (what a straightforward
// implementation would do), a parallel memcpy, and timed, interleaved sweeps
// of every contender over many tensors.
//
//   benchProjection(options)   see BenchProjection below
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <napi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/convert.h"
#include "core/errors.h"
#include "kernels/projection.h"

namespace mars {
namespace {

// The same maps as chains of LibTorch ops (several temporaries per call).

void MarsOpChain(const at::Tensor& w, const at::Tensor& w0, double radius) {
  c10::NoGradGuard noGrad;
  const at::Tensor target = w.detach();
  const at::Tensor d = w0.defined() ? target - w0 : target;
  const int64_t rows = target.size(0);
  std::vector<int64_t> viewShape(static_cast<size_t>(target.dim()), 1);
  viewShape[0] = rows;
  const at::Tensor norms = d.abs().reshape({rows, -1}).sum(1);
  const at::Tensor factor = (norms / radius).clamp_min(1.0).view(viewShape);
  if (w0.defined()) {
    target.copy_(w0 + d / factor);
  } else {
    target.div_(factor);
  }
}

void FrobeniusOpChain(const at::Tensor& w, const at::Tensor& w0, double radius) {
  c10::NoGradGuard noGrad;
  const at::Tensor target = w.detach();
  const at::Tensor d = w0.defined() ? target - w0 : target;
  const at::Tensor factor = (d.norm() / radius).clamp_min(1.0);
  if (w0.defined()) {
    target.copy_(w0 + d / factor);
  } else {
    target.div_(factor);
  }
}

// A plain parallel memory copy of w0 into w: reads w0 and writes w (whose
// cache lines are read for ownership first), the bytes the projection moves.
void CopyInto(const at::Tensor& w, const at::Tensor& w0) {
  auto* dst = static_cast<char*>(w.data_ptr());
  const auto* src = static_cast<const char*>(w0.data_ptr());
  const int64_t bytes = static_cast<int64_t>(w.nbytes());
  at::parallel_for(0, bytes, 32768 * 4, [&](int64_t begin, int64_t end) {
    std::memcpy(dst + begin, src + begin, static_cast<size_t>(end - begin));
  });
}

std::vector<std::vector<int64_t>> ShapesFromJs(const Napi::Value& value) {
  if (!value.IsArray()) throw CodedError("ERR_INVALID_ARGUMENT", "shapes must be an array of shapes");
  const auto array = value.As<Napi::Array>();
  std::vector<std::vector<int64_t>> shapes;
  for (uint32_t i = 0; i < array.Length(); ++i) shapes.push_back(ShapeFromJs(array.Get(i), "shape"));
  return shapes;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

// benchProjection({ shapes, contenders: [{ name, method, relRadius? }], reps, seed, dtype, flushBytes })
//   method: 'fused' | 'fused-many' | 'opchain' | 'copy' | 'add' | 'fused-exact-l1' | 'frobenius' | 'frobenius-opchain'
//   ('copy': memcpy W0 -> W in parallel chunks; 'add': W.add_(W0), one ATen op
//   with exactly the fused kernel's traffic: read W and W0, write W)
// Builds W0 = 0.05 randn and W = W0 + 0.01 randn per shape (seeded), and for
// each contender a radius per tensor of relRadius (default 0.5) times the
// expected distance (l1 row: rowLen * 0.01 * sqrt(2/pi); Frobenius:
// sqrt(numel) * 0.01); 0.5 clips every row, 1e9 none.
// Each rep runs every contender in turn (interleaved, so that drift on a
// shared machine hits all alike): restore every W from a pristine copy, read
// `flushBytes` of other memory to evict the caches, then time the method on
// each tensor. Returns, per contender, the per-rep sweep totals, per-tensor
// medians, rows clipped (fused methods) and a checksum of all W after its last
// sweep (contenders computing the same map must agree to rounding).
Napi::Value BenchProjection(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_TORCH", "benchProjection", [&]() -> Napi::Value {
    Require(info.Length() > 0 && info[0].IsObject(), "options must be an object");
    const auto o = info[0].As<Napi::Object>();
    const auto shapes = ShapesFromJs(o.Get("shapes"));
    const int reps = o.Has("reps") ? o.Get("reps").ToNumber().Int32Value() : 5;
    const uint64_t seed = o.Has("seed") ? static_cast<uint64_t>(o.Get("seed").ToNumber().Int64Value()) : 0;
    const at::ScalarType dtype = o.Has("dtype") ? ParseDtype(o.Get("dtype").ToString().Utf8Value()) : at::kFloat;
    const int64_t flushBytes = o.Has("flushBytes") ? o.Get("flushBytes").ToNumber().Int64Value() : (64 << 20);
    Require(reps >= 1, "reps must be >= 1");
    Require(o.Get("contenders").IsArray(), "contenders must be an array");
    struct Contender {
      std::string name, method;
      double relRadius = 0.5;
      std::vector<std::vector<double>> perTensor;
      std::vector<double> totals;
      int64_t clipped = 0, rows = 0;
      double checksum = 0;
    };
    std::vector<Contender> contenders;
    const auto list = o.Get("contenders").As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) {
      const auto c = list.Get(i).As<Napi::Object>();
      Contender k;
      k.method = c.Get("method").ToString().Utf8Value();
      k.name = c.Has("name") ? c.Get("name").ToString().Utf8Value() : k.method;
      if (c.Has("relRadius")) k.relRadius = c.Get("relRadius").ToNumber().DoubleValue();
      static const char* kMethods[] = {"fused", "fused-many", "opchain", "copy", "add", "fused-exact-l1", "frobenius", "frobenius-opchain"};
      Require(std::find(std::begin(kMethods), std::end(kMethods), k.method) != std::end(kMethods), "unknown method '" + k.method + "'");
      k.perTensor.resize(shapes.size());
      contenders.push_back(std::move(k));
    }

    c10::NoGradGuard noGrad;
    at::Generator gen = at::detail::createCPUGenerator(seed);
    const auto opts = at::TensorOptions().dtype(dtype);
    std::vector<at::Tensor> ws, w0s, pristine;
    int64_t totalElements = 0;
    for (const auto& shape : shapes) {
      at::Tensor w0 = at::randn(shape, gen, opts).mul_(0.05);
      at::Tensor w = w0 + at::randn(shape, gen, opts).mul_(0.01);
      pristine.push_back(w.clone());
      ws.push_back(w);
      w0s.push_back(w0);
      totalElements += w.numel();
    }
    auto radiusFor = [&](const Contender& k, size_t i) {
      const at::Tensor& w = ws[i];
      const int64_t rowLen = w.numel() / std::max<int64_t>(1, w.size(0));
      const double expected = k.method.rfind("frobenius", 0) == 0 ? std::sqrt(static_cast<double>(w.numel())) * 0.01
                                                                   : static_cast<double>(rowLen) * 0.01 * std::sqrt(2.0 / M_PI);
      return k.relRadius * expected;
    };
    at::Tensor flush = at::ones({std::max<int64_t>(1, flushBytes / 4)}, at::kFloat);
    double sink = 0;

    for (int rep = 0; rep < reps; ++rep) {
      for (auto& k : contenders) {
        for (size_t i = 0; i < ws.size(); ++i) ws[i].copy_(pristine[i]);
        sink += flush.sum().item<double>();
        double total = 0;
        k.clipped = 0;
        k.rows = 0;
        for (size_t i = 0; i < ws.size(); ++i) {
          const double radius = radiusFor(k, i);
          if (k.method == "fused-many") {
            // One call for the whole sweep (timed once, below).
            if (i + 1 < ws.size()) continue;
            std::vector<MarsTask> tasks;
            for (size_t j = 0; j < ws.size(); ++j) tasks.push_back({ws[j], w0s[j], radiusFor(k, j)});
            const auto t0 = std::chrono::steady_clock::now();
            const std::vector<ProjectionStats> st = ProjectMarsRowsMany(tasks);
            total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            for (const auto& one : st) {
              k.clipped += one.clipped;
              k.rows += one.rows;
            }
            for (auto& p : k.perTensor) p.push_back(0);
            break;
          }
          const auto t0 = std::chrono::steady_clock::now();
          if (k.method == "fused" || k.method == "fused-exact-l1") {
            ProjectionOptions po;
            po.map = k.method == "fused" ? RowMap::kRescale : RowMap::kExactL1;
            const ProjectionStats st = ProjectMarsRows(ws[i], &w0s[i], radius, po);
            k.clipped += st.clipped;
            k.rows += st.rows;
          } else if (k.method == "opchain") {
            MarsOpChain(ws[i], w0s[i], radius);
          } else if (k.method == "copy") {
            CopyInto(ws[i], w0s[i]);
          } else if (k.method == "add") {
            ws[i].add_(w0s[i]);
          } else if (k.method == "frobenius") {
            const ProjectionStats st = ProjectFrobenius(ws[i], &w0s[i], radius);
            k.clipped += st.clipped;
            k.rows += st.rows;
          } else {
            FrobeniusOpChain(ws[i], w0s[i], radius);
          }
          const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          k.perTensor[i].push_back(seconds);
          total += seconds;
        }
        k.totals.push_back(total);
        if (rep == reps - 1) {
          k.checksum = 0;
          for (const auto& w : ws) k.checksum += w.sum(at::kDouble).item<double>();
        }
      }
    }

    Napi::Object out = Napi::Object::New(env);
    Napi::Object byName = Napi::Object::New(env);
    for (const auto& k : contenders) {
      Napi::Object r = Napi::Object::New(env);
      Napi::Array medians = Napi::Array::New(env, k.perTensor.size());
      for (size_t i = 0; i < k.perTensor.size(); ++i) medians.Set(static_cast<uint32_t>(i), Median(k.perTensor[i]));
      Napi::Array totals = Napi::Array::New(env, k.totals.size());
      for (size_t i = 0; i < k.totals.size(); ++i) totals.Set(static_cast<uint32_t>(i), k.totals[i]);
      r.Set("perTensorSeconds", medians);
      r.Set("totalSeconds", totals);
      r.Set("clippedRows", static_cast<double>(k.clipped));
      r.Set("rows", static_cast<double>(k.rows));
      r.Set("checksum", k.checksum);
      byName.Set(k.name, r);
    }
    out.Set("contenders", byName);
    out.Set("elements", static_cast<double>(totalElements));
    out.Set("bytesPerElement", static_cast<double>(c10::elementSize(dtype)));
    out.Set("threads", at::get_num_threads());
    out.Set("flushSink", sink);
    return out;
  });
}

}  // namespace
}  // namespace mars

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("benchProjection", Napi::Function::New(env, mars::BenchProjection, "benchProjection"));
  return exports;
}

}  // namespace

NODE_API_MODULE(mars_bench, Init)
