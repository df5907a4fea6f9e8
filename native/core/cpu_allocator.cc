// A caching CPU allocator for LibTorch. A training step allocates the same
// large tensors (activations, their gradients, convolution buffers, batches)
// in the same order every time. Through glibc's malloc those blocks come from
// the compute thread's arena, whose heaps fragment, or from fresh mmaps that
// fault in every page of every step (measured on the end-to-end benchmark:
// 467 MB of anonymous memory where Python's same job has 354, and three
// times the system time). Here a freed block of 256 KB or more is kept for
// the next request it fits: the smallest cached block at least as large and
// at most twice as large (so activations and gradients of neighbouring sizes
// share blocks, and a long-lived tensor wastes at most its own size). In
// steady state a step takes nothing from the system and touches no new page;
// the cache holds at most what was once live, and TrimCpuCache gives it back.
// Smaller blocks go to malloc, which serves them well.
#include "core/cpu_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <torch/version.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <map>
#include <new>

namespace mars {
namespace {

constexpr size_t kHeader = 64;  // keeps LibTorch's 64-byte alignment after the size word
constexpr size_t kLarge = 256 * 1024;
constexpr size_t kPage = 4096;

// Never destroyed: tensors may be freed by other threads while the process exits.
struct Cache {
  std::mutex mutex;
  std::multimap<size_t, void*> blocks;  // free blocks by mapped size
};
Cache& TheCache() {
  static auto* cache = new Cache();
  return *cache;
}
std::atomic<int64_t> cachedBytes{0};

// Every block starts with its total size; user memory follows the header.
void Release(void* user) {
  if (user == nullptr) return;
  void* base = static_cast<char*>(user) - kHeader;
  const size_t size = *static_cast<size_t*>(base);
  if (size < kLarge) {
    std::free(base);
    return;
  }
  Cache& cache = TheCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.blocks.emplace(size, base);
  cachedBytes += static_cast<int64_t>(size);
}

void* Acquire(size_t bytes) {
  const size_t total = bytes + kHeader;
  void* base = nullptr;
  size_t size = total;
  if (total < kLarge) {
    if (posix_memalign(&base, kHeader, total) != 0) throw std::bad_alloc();
  } else {
    size = (total + kPage - 1) / kPage * kPage;
    {
      Cache& cache = TheCache();
      std::lock_guard<std::mutex> lock(cache.mutex);
      auto it = cache.blocks.lower_bound(size);
      if (it != cache.blocks.end() && it->first <= 2 * size) {
        base = it->second;
        size = it->first;
        cache.blocks.erase(it);
        cachedBytes -= static_cast<int64_t>(size);
      }
    }
    if (base == nullptr) {
      base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (base == MAP_FAILED) throw std::bad_alloc();
    }
  }
  *static_cast<size_t*>(base) = size;
  return static_cast<char*>(base) + kHeader;
}

// LibTorch 2.3 made allocate() non-const and added copy_data().
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define MARS_ALLOCATOR_2_3
#define MARS_ALLOCATE_CONST
#else
#define MARS_ALLOCATE_CONST const
#endif

class CachingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t bytes) MARS_ALLOCATE_CONST override {
    void* user = Acquire(bytes);
    return {user, user, &Release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &Release; }
#ifdef MARS_ALLOCATOR_2_3
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif
};

}  // namespace

void InstallCpuAllocator() {
  static CachingCpuAllocator allocator;
  static std::once_flag once;
  std::call_once(once, [] { c10::SetCPUAllocator(&allocator, /*priority=*/1); });
}

int64_t CachedCpuBytes() { return cachedBytes.load(); }

void TrimCpuCache() {
  Cache& cache = TheCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  for (auto& [size, block] : cache.blocks) ::munmap(block, size);
  cache.blocks.clear();
  cachedBytes = 0;
#ifdef __GLIBC__
  // The blocks under 256 KB went to malloc: glibc keeps the free pages of its
  // arenas (one per thread that allocated) until told; a finished run's, too.
  malloc_trim(0);
#endif
}

}  // namespace mars
