// CUDA kernels of projection.h, compiled only when the LibTorch found has
// CUDA (CMakeLists.txt) and called by projection_cpu.cc after validation, with
// tensors whose rows are dense blocks of memory (the fused path).
//
// MARS rows: one warp per row for rows of up to kWarpRowLimit elements, one
// block per row above. Each thread reads its share of W and W0 with 16-byte
// loads when the row allows it, the warp/block sums |W - W0|, and a row
// outside the ball is rescaled in place while it is still in L1/L2. Exact l1
// rows: one block per row, Michelot's iteration (the exact threshold in a few
// passes over the cached row, no sort). Frobenius: per-block partial sums, then
// a rescale kernel whose blocks each add the partials in the same order (no
// atomics, deterministic, no host synchronisation). BatchNorm: one thread per
// channel. Statistics (optional) go to a small device buffer through atomics
// and are copied back at the end, which synchronises; without them a call only
// enqueues kernels on the current stream.
#include "kernels/projection.h"

#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace mars {
namespace detail {
namespace {

constexpr int kThreads = 256;
constexpr int kWarpSize = 32;
constexpr int64_t kWarpRowLimit = 1024;
constexpr int kMaxNormBlocks = 1024;

// Statistics buffer (int64 x 6 on the device):
// 0 clipped, 1 nonFinite, 2 maxBefore (double bits), 3 maxAfter (double bits),
// 4 sumBefore (double), 5 unused.
using u64 = unsigned long long;

__device__ __forceinline__ void RecordRow(u64* stats, double before, double after, bool clipped, bool finite) {
  if (stats == nullptr) return;
  if (!finite) {
    atomicAdd(&stats[1], 1ull);
    return;
  }
  if (clipped) atomicAdd(&stats[0], 1ull);
  // Non-negative doubles order like their bit patterns.
  atomicMax(&stats[2], static_cast<u64>(__double_as_longlong(before)));
  atomicMax(&stats[3], static_cast<u64>(__double_as_longlong(after)));
  atomicAdd(reinterpret_cast<double*>(&stats[4]), before);
}

__device__ __forceinline__ float AbsOf(float v) { return fabsf(v); }
__device__ __forceinline__ double AbsOf(double v) { return fabs(v); }

template <typename T>
struct Vec;
template <>
struct Vec<float> {
  using type = float4;
  static constexpr int n = 4;
  __device__ __forceinline__ static float Abs(float4 a, float4 b) {
    return fabsf(a.x - b.x) + fabsf(a.y - b.y) + fabsf(a.z - b.z) + fabsf(a.w - b.w);
  }
  __device__ __forceinline__ static float Abs(float4 a) { return fabsf(a.x) + fabsf(a.y) + fabsf(a.z) + fabsf(a.w); }
  __device__ __forceinline__ static float Sq(float4 a, float4 b) {
    const float x = a.x - b.x, y = a.y - b.y, z = a.z - b.z, w = a.w - b.w;
    return x * x + y * y + z * z + w * w;
  }
  __device__ __forceinline__ static float Sq(float4 a) { return a.x * a.x + a.y * a.y + a.z * a.z + a.w * a.w; }
  __device__ __forceinline__ static float4 Rescale(float4 a, float4 b, float f) {
    return make_float4(b.x + (a.x - b.x) * f, b.y + (a.y - b.y) * f, b.z + (a.z - b.z) * f, b.w + (a.w - b.w) * f);
  }
  __device__ __forceinline__ static float4 Scale(float4 a, float f) {
    return make_float4(a.x * f, a.y * f, a.z * f, a.w * f);
  }
};
template <>
struct Vec<double> {
  using type = double2;
  static constexpr int n = 2;
  __device__ __forceinline__ static double Abs(double2 a, double2 b) { return fabs(a.x - b.x) + fabs(a.y - b.y); }
  __device__ __forceinline__ static double Abs(double2 a) { return fabs(a.x) + fabs(a.y); }
  __device__ __forceinline__ static double Sq(double2 a, double2 b) {
    const double x = a.x - b.x, y = a.y - b.y;
    return x * x + y * y;
  }
  __device__ __forceinline__ static double Sq(double2 a) { return a.x * a.x + a.y * a.y; }
  __device__ __forceinline__ static double2 Rescale(double2 a, double2 b, double f) {
    return make_double2(b.x + (a.x - b.x) * f, b.y + (a.y - b.y) * f);
  }
  __device__ __forceinline__ static double2 Scale(double2 a, double f) { return make_double2(a.x * f, a.y * f); }
};

__device__ __forceinline__ double WarpSum(double v) {
#pragma unroll
  for (int offset = kWarpSize / 2; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Sum over the block; every thread gets the result. `shared` holds one double per warp.
__device__ __forceinline__ double BlockSum(double v, double* shared) {
  const int lane = threadIdx.x % kWarpSize;
  const int warp = threadIdx.x / kWarpSize;
  const int warps = (blockDim.x + kWarpSize - 1) / kWarpSize;
  v = WarpSum(v);
  __syncthreads();  // `shared` may still be read from a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  double total = 0;
  for (int i = 0; i < warps; ++i) total += shared[i];  // same order in every thread
  return total;
}

// sum |w - w0| over one row, this thread's share: elements first + k * step.
template <typename T, bool kHasW0, bool kVec>
__device__ __forceinline__ T RowPartialL1(const T* __restrict__ w, const T* __restrict__ w0, int64_t rowLen, int first,
                                          int step) {
  T acc = 0;
  if (kVec) {
    using V = Vec<T>;
    const auto* wv = reinterpret_cast<const typename V::type*>(w);
    const auto* w0v = reinterpret_cast<const typename V::type*>(w0);
    const int64_t nv = rowLen / V::n;
#pragma unroll 4
    for (int64_t i = first; i < nv; i += step) acc += kHasW0 ? V::Abs(wv[i], w0v[i]) : V::Abs(wv[i]);
  } else {
#pragma unroll 4
    for (int64_t i = first; i < rowLen; i += step) acc += kHasW0 ? AbsOf(w[i] - w0[i]) : AbsOf(w[i]);
  }
  return acc;
}

template <typename T, bool kHasW0, bool kVec>
__device__ __forceinline__ void RowRescale(T* __restrict__ w, const T* __restrict__ w0, int64_t rowLen, int first,
                                           int step, T f) {
  if (kVec) {
    using V = Vec<T>;
    auto* wv = reinterpret_cast<typename V::type*>(w);
    const auto* w0v = reinterpret_cast<const typename V::type*>(w0);
    const int64_t nv = rowLen / V::n;
#pragma unroll 4
    for (int64_t i = first; i < nv; i += step) wv[i] = kHasW0 ? V::Rescale(wv[i], w0v[i], f) : V::Scale(wv[i], f);
  } else {
#pragma unroll 4
    for (int64_t i = first; i < rowLen; i += step) w[i] = kHasW0 ? w0[i] + (w[i] - w0[i]) * f : w[i] * f;
  }
}

// One warp per row.
template <typename T, bool kHasW0, bool kVec>
__global__ void __launch_bounds__(kThreads) MarsRowsWarpKernel(T* __restrict__ w, const T* __restrict__ w0,
                                                               int64_t rows, int64_t rowLen, double radius,
                                                               u64* stats) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (kThreads / kWarpSize) + threadIdx.x / kWarpSize;
  if (row >= rows) return;  // whole warps leave together
  T* wr = w + row * rowLen;
  const T* w0r = kHasW0 ? w0 + row * rowLen : nullptr;
  const double s = WarpSum(static_cast<double>(RowPartialL1<T, kHasW0, kVec>(wr, w0r, rowLen, lane, kWarpSize)));
  const bool finite = isfinite(s);
  const bool clip = finite && s > radius;
  if (clip) RowRescale<T, kHasW0, kVec>(wr, w0r, rowLen, lane, kWarpSize, static_cast<T>(radius / s));
  if (lane == 0) RecordRow(stats, s, clip ? radius : s, clip, finite);
}

// One block per row.
template <typename T, bool kHasW0, bool kVec>
__global__ void __launch_bounds__(kThreads) MarsRowsBlockKernel(T* __restrict__ w, const T* __restrict__ w0,
                                                                int64_t rowLen, double radius, u64* stats) {
  __shared__ double shared[kThreads / kWarpSize];
  const int64_t row = blockIdx.x;
  T* wr = w + row * rowLen;
  const T* w0r = kHasW0 ? w0 + row * rowLen : nullptr;
  const double s =
      BlockSum(static_cast<double>(RowPartialL1<T, kHasW0, kVec>(wr, w0r, rowLen, threadIdx.x, kThreads)), shared);
  const bool finite = isfinite(s);
  const bool clip = finite && s > radius;
  if (clip) RowRescale<T, kHasW0, kVec>(wr, w0r, rowLen, threadIdx.x, kThreads, static_cast<T>(radius / s));
  if (threadIdx.x == 0) RecordRow(stats, s, clip ? radius : s, clip, finite);
}

// Batched MARS rescale: up to kMaxSegments tensors per launch, described by a
// table passed by value as the kernel's parameter; one warp per row of any
// tensor (global row index -> tensor by a scan of the row offsets).
constexpr int kMaxSegments = 48;

template <typename T>
struct Segments {
  int count;
  int64_t rowBegin[kMaxSegments + 1];  // prefix sums of rows
  T* w[kMaxSegments];
  const T* w0[kMaxSegments];  // null: centred at zero
  int64_t rowLen[kMaxSegments];
  double radius[kMaxSegments];
  unsigned char vec[kMaxSegments];  // 16-byte loads possible
};

template <typename T, bool kHasW0, bool kVec>
__device__ __forceinline__ void MarsRowWarp(T* wr, const T* w0r, int64_t rowLen, double radius, int lane, u64* stats) {
  const double s = WarpSum(static_cast<double>(RowPartialL1<T, kHasW0, kVec>(wr, w0r, rowLen, lane, kWarpSize)));
  const bool finite = isfinite(s);
  const bool clip = finite && s > radius;
  if (clip) RowRescale<T, kHasW0, kVec>(wr, w0r, rowLen, lane, kWarpSize, static_cast<T>(radius / s));
  if (lane == 0) RecordRow(stats, s, clip ? radius : s, clip, finite);
}

template <typename T>
__global__ void __launch_bounds__(kThreads) MarsRowsManyKernel(const Segments<T> segs, u64* stats) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (kThreads / kWarpSize) + threadIdx.x / kWarpSize;
  if (row >= segs.rowBegin[segs.count]) return;
  int k = 0;
  while (row >= segs.rowBegin[k + 1]) ++k;  // uniform across the warp
  const int64_t rowLen = segs.rowLen[k];
  const int64_t r = row - segs.rowBegin[k];
  T* wr = segs.w[k] + r * rowLen;
  const T* w0 = segs.w0[k];
  u64* st = stats ? stats + 6 * k : nullptr;
  if (w0 != nullptr) {
    if (segs.vec[k]) {
      MarsRowWarp<T, true, true>(wr, w0 + r * rowLen, rowLen, segs.radius[k], lane, st);
    } else {
      MarsRowWarp<T, true, false>(wr, w0 + r * rowLen, rowLen, segs.radius[k], lane, st);
    }
  } else {
    if (segs.vec[k]) {
      MarsRowWarp<T, false, true>(wr, nullptr, rowLen, segs.radius[k], lane, st);
    } else {
      MarsRowWarp<T, false, false>(wr, nullptr, rowLen, segs.radius[k], lane, st);
    }
  }
}

// Exact l1 projection, one block per row (Michelot 1986): theta_0 = (s - r) / n,
// then theta = (sum_{|v| > theta} |v| - r) / #{|v| > theta} until the active
// set stops shrinking; theta increases monotonically to the exact threshold.
template <typename T, bool kHasW0>
__global__ void __launch_bounds__(kThreads) ExactL1RowsKernel(T* __restrict__ w, const T* __restrict__ w0,
                                                              int64_t rowLen, double radius, u64* stats) {
  __shared__ double shared[kThreads / kWarpSize];
  const int64_t row = blockIdx.x;
  T* wr = w + row * rowLen;
  const T* w0r = kHasW0 ? w0 + row * rowLen : nullptr;
  double local = 0;
  for (int64_t i = threadIdx.x; i < rowLen; i += kThreads) {
    local += fabs(static_cast<double>(kHasW0 ? wr[i] - w0r[i] : wr[i]));
  }
  const double s = BlockSum(local, shared);
  const bool finite = isfinite(s);
  if (!finite || s <= radius) {
    if (threadIdx.x == 0) RecordRow(stats, s, s, false, finite);
    return;  // uniform across the block: s is the same in every thread
  }
  double count = static_cast<double>(rowLen);
  double theta = (s - radius) / count;
  for (int64_t iteration = 0; iteration <= rowLen; ++iteration) {
    double sum = 0;
    double n = 0;
    for (int64_t i = threadIdx.x; i < rowLen; i += kThreads) {
      const double a = fabs(static_cast<double>(kHasW0 ? wr[i] - w0r[i] : wr[i]));
      if (a > theta) {
        sum += a;
        n += 1;
      }
    }
    sum = BlockSum(sum, shared);
    n = BlockSum(n, shared);
    if (n == count || n == 0) break;
    count = n;
    theta = (sum - radius) / n;
  }
  for (int64_t i = threadIdx.x; i < rowLen; i += kThreads) {
    const T d = kHasW0 ? wr[i] - w0r[i] : wr[i];
    const double m = fabs(static_cast<double>(d)) - theta;
    const T shrunk = m > 0 ? static_cast<T>(copysign(m, static_cast<double>(d))) : T(0);
    wr[i] = kHasW0 ? w0r[i] + shrunk : shrunk;
  }
  if (threadIdx.x == 0) RecordRow(stats, s, radius, true, true);
}

// Frobenius, pass 1: partial[b] = sum of (w - w0)^2 over block b's grid-stride share.
template <typename T, bool kHasW0, bool kVec>
__global__ void __launch_bounds__(kThreads) SquaresKernel(const T* __restrict__ w, const T* __restrict__ w0, int64_t n,
                                                          double* partial) {
  __shared__ double shared[kThreads / kWarpSize];
  const int64_t first = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * kThreads;
  T acc = 0;
  int64_t scalarFrom = 0;
  if (kVec) {
    using V = Vec<T>;
    const auto* wv = reinterpret_cast<const typename V::type*>(w);
    const auto* w0v = reinterpret_cast<const typename V::type*>(w0);
    const int64_t nv = n / V::n;
    for (int64_t i = first; i < nv; i += step) acc += kHasW0 ? V::Sq(wv[i], w0v[i]) : V::Sq(wv[i]);
    scalarFrom = nv * V::n;
  }
  for (int64_t i = scalarFrom + first; i < n; i += step) {
    const T d = kHasW0 ? w[i] - w0[i] : w[i];
    acc += d * d;
  }
  const double total = BlockSum(static_cast<double>(acc), shared);
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

// Frobenius, pass 2: every block adds the partials (same order: deterministic)
// and rescales its share when the tensor is outside the ball.
template <typename T, bool kHasW0, bool kVec>
__global__ void __launch_bounds__(kThreads) FrobeniusRescaleKernel(T* __restrict__ w, const T* __restrict__ w0,
                                                                   int64_t n, const double* partial, int partials,
                                                                   double radius, u64* stats) {
  __shared__ double shared[kThreads / kWarpSize];
  double local = 0;
  for (int i = threadIdx.x; i < partials; i += kThreads) local += partial[i];
  const double norm = sqrt(BlockSum(local, shared));
  const bool finite = isfinite(norm);
  const bool clip = finite && norm > radius;
  if (blockIdx.x == 0 && threadIdx.x == 0) RecordRow(stats, norm, clip ? radius : norm, clip, finite);
  if (!clip) return;
  const T f = static_cast<T>(radius / norm);
  const int64_t first = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * kThreads;
  int64_t scalarFrom = 0;
  if (kVec) {
    using V = Vec<T>;
    auto* wv = reinterpret_cast<typename V::type*>(w);
    const auto* w0v = reinterpret_cast<const typename V::type*>(w0);
    const int64_t nv = n / V::n;
    for (int64_t i = first; i < nv; i += step) wv[i] = kHasW0 ? V::Rescale(wv[i], w0v[i], f) : V::Scale(wv[i], f);
    scalarFrom = nv * V::n;
  }
  for (int64_t i = scalarFrom + first; i < n; i += step) w[i] = kHasW0 ? w0[i] + (w[i] - w0[i]) * f : w[i] * f;
}

template <typename T>
__global__ void BatchNormClipKernel(T* __restrict__ w, const T* __restrict__ rv, const T* __restrict__ w0,
                                    const T* __restrict__ rv0, int64_t channels, double radius, double eps,
                                    u64* stats) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  const double sd = sqrt(static_cast<double>(rv[c]) + eps);
  const double s0 = static_cast<double>(w0[c]) / sqrt(static_cast<double>(rv0[c]) + eps);
  const double t = static_cast<double>(w[c]) / sd - s0;
  const bool finite = isfinite(t) && isfinite(sd);
  const bool clip = finite && fabs(t) > radius;
  if (clip) w[c] = static_cast<T>((s0 + fmax(-radius, fmin(radius, t))) * sd);
  RecordRow(stats, fabs(t), clip ? radius : fabs(t), clip, finite);
}

// ---------------------------------------------------------------------------
// Host side
// ---------------------------------------------------------------------------

bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

at::Tensor StatsBuffer(const at::Tensor& like, bool collect) {
  return collect ? at::zeros({6}, like.options().dtype(at::kLong)) : at::Tensor();
}

u64* StatsPointer(const at::Tensor& buffer) {
  return buffer.defined() ? reinterpret_cast<u64*>(buffer.data_ptr<int64_t>()) : nullptr;
}

double AsDouble(int64_t bits) {
  double d;
  static_assert(sizeof(d) == sizeof(bits), "double is 64-bit");
  std::memcpy(&d, &bits, sizeof(d));
  return d;
}

ProjectionStats StatsFrom(const int64_t* v, int64_t rows) {
  ProjectionStats stats;
  stats.rows = rows;
  stats.clipped = v[0];
  stats.nonFinite = v[1];
  stats.maxDistanceBefore = AsDouble(v[2]);
  stats.maxDistanceAfter = AsDouble(v[3]);
  stats.sumDistanceBefore = AsDouble(v[4]);
  return stats;
}

ProjectionStats ReadStats(const at::Tensor& buffer, int64_t rows) {
  ProjectionStats stats;
  stats.rows = rows;
  if (!buffer.defined()) {
    stats.statsValid = false;
    return stats;
  }
  const at::Tensor host = buffer.cpu();  // synchronises with the stream
  return StatsFrom(host.data_ptr<int64_t>(), rows);
}

template <typename T, bool kHasW0>
void LaunchMarsRows(T* w, const T* w0, int64_t rows, int64_t rowLen, double radius, RowMap map, u64* stats,
                    cudaStream_t stream) {
  if (map == RowMap::kExactL1) {
    ExactL1RowsKernel<T, kHasW0><<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(w, w0, rowLen, radius, stats);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return;
  }
  const bool vec = Aligned16(w) && (!kHasW0 || Aligned16(w0)) && (rowLen * sizeof(T)) % 16 == 0;
  if (rowLen <= kWarpRowLimit) {
    const unsigned blocks = static_cast<unsigned>((rows + kThreads / kWarpSize - 1) / (kThreads / kWarpSize));
    if (vec) {
      MarsRowsWarpKernel<T, kHasW0, true><<<blocks, kThreads, 0, stream>>>(w, w0, rows, rowLen, radius, stats);
    } else {
      MarsRowsWarpKernel<T, kHasW0, false><<<blocks, kThreads, 0, stream>>>(w, w0, rows, rowLen, radius, stats);
    }
  } else {
    if (vec) {
      MarsRowsBlockKernel<T, kHasW0, true><<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(w, w0, rowLen, radius, stats);
    } else {
      MarsRowsBlockKernel<T, kHasW0, false><<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(w, w0, rowLen, radius, stats);
    }
  }
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

template <typename T, bool kHasW0, bool kVec>
void LaunchFrobenius(T* w, const T* w0, int64_t n, double* partial, int blocks, double radius, u64* stats,
                     cudaStream_t stream) {
  SquaresKernel<T, kHasW0, kVec><<<blocks, kThreads, 0, stream>>>(w, w0, n, partial);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  FrobeniusRescaleKernel<T, kHasW0, kVec><<<blocks, kThreads, 0, stream>>>(w, w0, n, partial, blocks, radius, stats);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace

ProjectionStats ProjectMarsRowsCuda(const at::Tensor& w, const at::Tensor& w0, int64_t rows, int64_t rowLen,
                                    double radius, RowMap map, bool collectStats) {
  TORCH_CHECK(rows <= 0x7fffffffLL, "too many rows for one CUDA launch: ", rows);
  const c10::cuda::CUDAGuard guard(w.device());
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(w.device().index());
  const at::Tensor buffer = StatsBuffer(w, collectStats);
  u64* stats = StatsPointer(buffer);
  AT_DISPATCH_FLOATING_TYPES(w.scalar_type(), "ProjectMarsRowsCuda", [&] {
    if (w0.defined()) {
      LaunchMarsRows<scalar_t, true>(w.data_ptr<scalar_t>(), w0.data_ptr<scalar_t>(), rows, rowLen, radius, map, stats,
                                     stream);
    } else {
      LaunchMarsRows<scalar_t, false>(w.data_ptr<scalar_t>(), nullptr, rows, rowLen, radius, map, stats, stream);
    }
  });
  return ReadStats(buffer, rows);
}

std::vector<ProjectionStats> ProjectMarsRowsManyCuda(const std::vector<at::Tensor>& ws, const std::vector<at::Tensor>& w0s,
                                                     const std::vector<double>& radii, bool collectStats) {
  const at::Tensor& first = ws.front();
  const c10::cuda::CUDAGuard guard(first.device());
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(first.device().index());
  const int64_t count = static_cast<int64_t>(ws.size());
  const at::Tensor buffer = collectStats ? at::zeros({6 * count}, first.options().dtype(at::kLong)) : at::Tensor();
  u64* stats = StatsPointer(buffer);
  AT_DISPATCH_FLOATING_TYPES(first.scalar_type(), "ProjectMarsRowsManyCuda", [&] {
    for (int64_t start = 0; start < count; start += kMaxSegments) {
      Segments<scalar_t> segs{};
      segs.count = static_cast<int>(std::min<int64_t>(kMaxSegments, count - start));
      segs.rowBegin[0] = 0;
      for (int k = 0; k < segs.count; ++k) {
        const at::Tensor& w = ws[start + k];
        const at::Tensor& w0 = w0s[start + k];
        const int64_t rows = w.size(0);
        segs.w[k] = w.data_ptr<scalar_t>();
        segs.w0[k] = w0.defined() ? w0.data_ptr<scalar_t>() : nullptr;
        segs.rowLen[k] = w.numel() / rows;
        segs.radius[k] = radii[start + k];
        segs.vec[k] = Aligned16(segs.w[k]) && (segs.w0[k] == nullptr || Aligned16(segs.w0[k])) &&
                      (segs.rowLen[k] * sizeof(scalar_t)) % 16 == 0;
        segs.rowBegin[k + 1] = segs.rowBegin[k] + rows;
      }
      const int64_t rowsTotal = segs.rowBegin[segs.count];
      const int64_t blocks = (rowsTotal + kThreads / kWarpSize - 1) / (kThreads / kWarpSize);
      TORCH_CHECK(blocks <= 0x7fffffffLL, "too many rows for one CUDA launch: ", rowsTotal);
      MarsRowsManyKernel<scalar_t><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
          segs, stats ? stats + 6 * start : nullptr);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
  });
  std::vector<ProjectionStats> out;
  if (!buffer.defined()) {
    for (const auto& w : ws) {
      ProjectionStats s;
      s.rows = w.size(0);
      s.statsValid = false;
      out.push_back(s);
    }
    return out;
  }
  const at::Tensor host = buffer.cpu();  // synchronises with the stream
  for (int64_t k = 0; k < count; ++k) out.push_back(StatsFrom(host.data_ptr<int64_t>() + 6 * k, ws[k].size(0)));
  return out;
}

ProjectionStats ProjectFrobeniusCuda(const at::Tensor& w, const at::Tensor& w0, double radius, bool collectStats) {
  const c10::cuda::CUDAGuard guard(w.device());
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(w.device().index());
  const at::Tensor buffer = StatsBuffer(w, collectStats);
  u64* stats = StatsPointer(buffer);
  const int64_t n = w.numel();
  const int blocks = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(kMaxNormBlocks, (n + kThreads * 16 - 1) / (kThreads * 16))));
  const at::Tensor partial = at::empty({blocks}, w.options().dtype(at::kDouble));
  AT_DISPATCH_FLOATING_TYPES(w.scalar_type(), "ProjectFrobeniusCuda", [&] {
    scalar_t* wp = w.data_ptr<scalar_t>();
    const scalar_t* w0p = w0.defined() ? w0.data_ptr<scalar_t>() : nullptr;
    const bool vec = Aligned16(wp) && (w0p == nullptr || Aligned16(w0p));
    double* pp = partial.data_ptr<double>();
    if (w0p) {
      if (vec) {
        LaunchFrobenius<scalar_t, true, true>(wp, w0p, n, pp, blocks, radius, stats, stream);
      } else {
        LaunchFrobenius<scalar_t, true, false>(wp, w0p, n, pp, blocks, radius, stats, stream);
      }
    } else {
      if (vec) {
        LaunchFrobenius<scalar_t, false, true>(wp, w0p, n, pp, blocks, radius, stats, stream);
      } else {
        LaunchFrobenius<scalar_t, false, false>(wp, w0p, n, pp, blocks, radius, stats, stream);
      }
    }
  });
  return ReadStats(buffer, 1);
}

ProjectionStats ClipBatchNormScaleCuda(const at::Tensor& weight, const at::Tensor& runningVar, const at::Tensor& weight0,
                                       const at::Tensor& runningVar0, double radius, double eps, bool collectStats) {
  const c10::cuda::CUDAGuard guard(weight.device());
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(weight.device().index());
  const at::Tensor buffer = StatsBuffer(weight, collectStats);
  u64* stats = StatsPointer(buffer);
  const int64_t channels = weight.numel();
  const unsigned blocks = static_cast<unsigned>((channels + kThreads - 1) / kThreads);
  AT_DISPATCH_FLOATING_TYPES(weight.scalar_type(), "ClipBatchNormScaleCuda", [&] {
    BatchNormClipKernel<scalar_t><<<blocks, kThreads, 0, stream>>>(
        weight.data_ptr<scalar_t>(), runningVar.data_ptr<scalar_t>(), weight0.data_ptr<scalar_t>(),
        runningVar0.data_ptr<scalar_t>(), channels, radius, eps, stats);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return ReadStats(buffer, channels);
}

}  // namespace detail
}  // namespace mars
