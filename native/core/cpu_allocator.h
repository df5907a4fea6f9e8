// LibTorch's CPU allocator for this process (see cpu_allocator.cc).
#pragma once

#include <cstdint>

namespace mars {

// Installs the caching allocator for every LibTorch CPU tensor allocated from now on (once per process).
void InstallCpuAllocator();

// Bytes of freed large blocks the allocator holds for reuse now.
int64_t CachedCpuBytes();

// Gives every cached block back to the system (tensors in use keep theirs).
void TrimCpuCache();

}  // namespace mars
