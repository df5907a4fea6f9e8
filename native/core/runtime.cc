#include "core/runtime.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

#include "core/compute_thread.h"
#include "core/errors.h"
#include "core/handle.h"

namespace mars {
namespace {

// info() -> what this binary was built with and what it can use now.
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("libtorchVersion", TORCH_VERSION);
#ifdef MARS_WITH_CUDA
  out.Set("builtWithCuda", true);
#else
  out.Set("builtWithCuda", false);
#endif
  out.Set("cudaAvailable", torch::cuda::is_available());
  out.Set("cudaDeviceCount", static_cast<double>(torch::cuda::device_count()));
  out.Set("cxx11Abi", static_cast<bool>(_GLIBCXX_USE_CXX11_ABI));
  out.Set("napiVersion", NAPI_VERSION);
  out.Set("threads", at::get_num_threads());
  out.Set("parallelInfo", at::get_parallel_info());
  out.Set("nativeMemory", static_cast<double>(reportedNativeBytes.load()));
  return out;
}

// setNumThreads(n): LibTorch's intra-op thread count for this process. The
// OpenMP team size belongs to the thread that forks it, and LibTorch reads
// the global count into a thread only before that thread's first parallel
// op, so the compute thread, which runs every op, is told too (in order with
// the work already queued); else only the first call before any work counted.
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "setNumThreads", [&]() -> Napi::Value {
    Require(info.Length() > 0 && info[0].IsNumber(), "threads must be a number");
    const int n = info[0].As<Napi::Number>().Int32Value();
    Require(n >= 1 && n <= 1024, "threads must be between 1 and 1024");
    at::set_num_threads(n);
    ComputeThread::Get().Post([n] { at::set_num_threads(n); });
    return env.Undefined();
  });
}

// manualSeed(seed): seeds LibTorch's default generators (CPU and CUDA). It
// is queued on the compute thread, after the work already posted and before
// any posted later: a run installs its own generator state into the default
// generators for the length of each step there (train/rng.h), and reseeding
// from this thread in the middle of one would overwrite that run's stream.
Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "manualSeed", [&]() -> Napi::Value {
    Require(info.Length() > 0 && info[0].IsNumber(), "seed must be a number");
    const double seed = info[0].As<Napi::Number>().DoubleValue();
    Require(seed >= 0 && seed <= 9007199254740991.0 && seed == static_cast<double>(static_cast<uint64_t>(seed)),
            "seed must be a non-negative integer");
    ComputeThread::Get().Post([value = static_cast<uint64_t>(seed)] {
      try {
        torch::manual_seed(value);
      } catch (...) {
        // Seeding does not fail in practice; a task on the compute thread must never throw.
      }
    });
    return env.Undefined();
  });
}

}  // namespace

void InitRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed, "manualSeed"));
}

}  // namespace mars
