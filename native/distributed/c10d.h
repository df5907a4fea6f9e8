// The parts of LibTorch's c10d this addon uses, across the LibTorch versions
// it builds against. In 1.13 (Debian's libtorch-dev) a backend such as Gloo
// *is* a c10d::ProcessGroup; from 2.0 on it is a c10d::Backend that a
// ProcessGroup dispatches to. Both expose the same collectives (allreduce,
// broadcast, barrier returning a Work), so the addon talks to the backend
// directly as `Comm`. Gloo compiles only where its headers were found
// (MARS_WITH_GLOO, set by CMakeLists.txt with USE_C10D_GLOO); NCCL only in a
// CUDA build whose nccl.h was found (MARS_WITH_NCCL with USE_C10D_NCCL).
#pragma once

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>

#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif

#ifdef MARS_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef MARS_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace mars {

#if TORCH_VERSION_MAJOR >= 2
using Comm = c10d::Backend;
#else
using Comm = c10d::ProcessGroup;
#endif

}  // namespace mars
