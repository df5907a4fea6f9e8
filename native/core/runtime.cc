#include "core/runtime.h"

#include <ATen/Parallel.h>
#include <sched.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <future>
#include <set>
#include <string>
#include <utility>

#include "core/compute_thread.h"
#include "core/cpu_allocator.h"
#include "core/errors.h"
#include "core/handle.h"

namespace mars {
namespace {

// The intra-op thread count the compute thread uses (set there, read here).
std::atomic<int> computeThreads{0};

// Physical cores among the CPUs this process may run on: hyperthread
// siblings share one (package, core) pair in sysfs. A CPU whose topology
// cannot be read counts as a core of its own.
int PhysicalCores() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return 1;
  std::set<std::pair<long, long>> cores;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    long package = -1, core = -1;
    std::ifstream(dir + "physical_package_id") >> package;
    std::ifstream(dir + "core_id") >> core;
    cores.insert(package < 0 || core < 0 ? std::make_pair(-1L - cpu, 0L) : std::make_pair(package, core));
  }
  return cores.empty() ? 1 : static_cast<int>(cores.size());
}

// What current PyTorch picks when nobody sets a count: OMP_NUM_THREADS, else
// MKL_NUM_THREADS, else one thread per physical core (PyTorch >= 2.0 asks
// cpuinfo for the cores; 1.13 took half of hardware_concurrency on x86-64,
// assuming two hyperthreads per core).
int DefaultThreads() {
  for (const char* name : {"OMP_NUM_THREADS", "MKL_NUM_THREADS"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && std::atoi(value) > 0) return std::atoi(value);
  }
  return PhysicalCores();
}

// LibTorch's OpenMP team belongs to the thread that computes, and a thread
// reads the count once, before its first parallel region: setting it on the
// JS thread would never reach the compute thread after its first step. So
// the setting travels to the compute thread, in order with the work, and the
// JS thread waits for it (at most the task in flight: runs post one step at a
// time). Waiting matters: at::set_num_threads rebuilds LibTorch's static
// thread pool, and a rebuild still running when the process exits races that
// pool's destructor (seen as a heap-corruption abort or a hang at exit of a
// process that only loaded the addon, in about 1 run of 10 on a busy machine).
void UseThreads(int n) {
  computeThreads = n;
  std::promise<void> applied;
  const bool posted = ComputeThread::Get().Post([n, &applied] {
    try {
      at::set_num_threads(n);
      applied.set_value();
    } catch (...) {
      applied.set_exception(std::current_exception());  // a task on the compute thread must never throw
    }
  });
  if (posted) applied.get_future().get();  // not posted: the process is exiting, and nothing computes any more
  at::set_num_threads(n);  // for the few reads done on the JS thread (distances, bound norms)
}

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
  // c10d's backends compiled in: each needs its library's headers at build time.
  Napi::Array backends = Napi::Array::New(env);
#ifdef MARS_WITH_GLOO
  backends.Set(backends.Length(), "gloo");
#endif
#ifdef MARS_WITH_NCCL
  backends.Set(backends.Length(), "nccl");
#endif
  out.Set("distributedBackends", backends);
  out.Set("cudaDeviceCount", static_cast<double>(torch::cuda::device_count()));
  out.Set("cxx11Abi", static_cast<bool>(_GLIBCXX_USE_CXX11_ABI));
  out.Set("napiVersion", NAPI_VERSION);
  out.Set("threads", computeThreads.load());
  out.Set("parallelInfo", at::get_parallel_info());
  out.Set("nativeMemory", static_cast<double>(reportedNativeBytes.load()));
  out.Set("cachedCpuMemory", static_cast<double>(CachedCpuBytes()));
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
    UseThreads(n);
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

// trimCpuCache(): returns the CPU allocator's cached blocks to the system (after training, say).
Napi::Value TrimCache(const Napi::CallbackInfo& info) {
  TrimCpuCache();
  return info.Env().Undefined();
}

// stopForExit(): the compute and image threads finish what they run and take
// nothing more (the loader calls it when the main thread's process exits).
Napi::Value StopForExit(const Napi::CallbackInfo& info) {
  StopQueuesForExit();
  return info.Env().Undefined();
}

}  // namespace

void InitRuntime(Napi::Env env, Napi::Object exports) {
  InstallCpuAllocator();
  if (computeThreads == 0) UseThreads(DefaultThreads());
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed, "manualSeed"));
  exports.Set("trimCpuCache", Napi::Function::New(env, TrimCache, "trimCpuCache"));
  exports.Set("stopForExit", Napi::Function::New(env, StopForExit, "stopForExit"));
}

}  // namespace mars
