// The projections of projection.h: validation, layout handling and device
// dispatch, and the CPU kernels. The CUDA kernels are in projection_cuda.cu.
#include "kernels/projection.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>
#include <vector>

#include "core/errors.h"

// On x86-64 Linux the hot loops are compiled twice, for AVX2 and for the
// baseline, and the loader picks one per machine (GNU ifunc), so a prebuilt
// binary runs everywhere and still uses 256-bit vectors where it can. No FMA
// clone on purpose: a multiply then an add rounds like LibTorch's own ops.
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && !defined(MARS_NO_CPU_CLONES)
#define MARS_CPU_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MARS_CPU_CLONES
#endif
#if defined(__GNUC__)
#define MARS_INLINE inline __attribute__((always_inline))
#define MARS_RESTRICT __restrict__
#else
#define MARS_INLINE inline
#define MARS_RESTRICT
#endif

namespace mars {
namespace {

// Work per parallel task, in elements: below this a tensor runs on one thread.
constexpr int64_t kGrainElements = 32768;
// Distances are summed in the tensor's dtype over sub-blocks of this many
// elements (vectorised, several independent lanes), then in double.
constexpr int64_t kSubBlock = 1024;
// Frobenius partial sums: fixed blocks, so the norm (and the decision to clip)
// does not depend on the thread count.
constexpr int64_t kNormBlock = 65536;

// ---------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------

struct Tally {
  int64_t clipped = 0;
  int64_t nonFinite = 0;
  double maxBefore = 0;
  double maxAfter = 0;
  double sumBefore = 0;

  void Row(double before, double after, bool wasClipped) {
    clipped += wasClipped ? 1 : 0;
    maxBefore = std::max(maxBefore, before);
    maxAfter = std::max(maxAfter, after);
    sumBefore += before;
  }
  void Merge(const Tally& o) {
    clipped += o.clipped;
    nonFinite += o.nonFinite;
    maxBefore = std::max(maxBefore, o.maxBefore);
    maxAfter = std::max(maxAfter, o.maxAfter);
    sumBefore += o.sumBefore;
  }
  ProjectionStats ToStats(int64_t rows) const {
    ProjectionStats s;
    s.rows = rows;
    s.clipped = clipped;
    s.nonFinite = nonFinite;
    s.maxDistanceBefore = maxBefore;
    s.maxDistanceAfter = maxAfter;
    s.sumDistanceBefore = sumBefore;
    return s;
  }
};

// ---------------------------------------------------------------------------
// Vectorisable inner loops (T = float or double). kHasW0 = false: centred at 0.
// ---------------------------------------------------------------------------

// Sum of the lanes as a tree: log2(kLanes) dependent vector adds instead of
// kLanes dependent scalar adds at the end of every row (which showed as ~40%
// lost bandwidth on rows of a few hundred elements).
template <typename T, int kLanes>
MARS_INLINE T TreeSum(T* acc) {
  for (int width = kLanes / 2; width >= 1; width /= 2) {
    for (int j = 0; j < width; ++j) acc[j] += acc[j + width];
  }
  return acc[0];
}

// Software prefetch kPrefetchBytes ahead of the distance loops (each
// iteration covers kLanes elements = 128 bytes = two cache lines per array).
// The hardware prefetcher stops at page boundaries and idles while a clipped
// row is rescaled from L1; asking 4 KB ahead keeps the memory system busy
// through both. Measured on ResNet-50 shapes: the fused sweep went from about
// 1.3x to 1.2x the time of W.add_(W0), which moves the same bytes. Prefetching
// past the end of a tensor is harmless (prefetches never fault).
constexpr int64_t kPrefetchBytes = 4096;

template <typename T, bool kHasW0>
MARS_INLINE void Prefetch(const T* a, const T* b) {
#if defined(__GNUC__)
  constexpr int64_t ahead = kPrefetchBytes / sizeof(T);
  constexpr int64_t line = 64 / sizeof(T);
  __builtin_prefetch(a + ahead, 0, 3);
  __builtin_prefetch(a + ahead + line, 0, 3);
  if constexpr (kHasW0) {
    __builtin_prefetch(b + ahead, 0, 3);
    __builtin_prefetch(b + ahead + line, 0, 3);
  }
#endif
}

// The two distances the maps need, as the per-element term of one blocked sum.
struct AbsTerm {
  template <typename T>
  static MARS_INLINE T Of(T d) { return std::abs(d); }
};
struct SquareTerm {
  template <typename T>
  static MARS_INLINE T Of(T d) { return d * d; }
};

// sum Term(w - w0) (or Term(w)) of n elements: float lanes of partial sums
// per sub-block (vectorised), the sub-block totals added in double.
template <typename Term, typename T, bool kHasW0>
MARS_INLINE double BlockedSum(const T* MARS_RESTRICT w, const T* MARS_RESTRICT w0, int64_t n) {
  constexpr int kLanes = 128 / sizeof(T);  // four 256-bit registers of partial sums
  double total = 0;
  for (int64_t start = 0; start < n; start += kSubBlock) {
    const int64_t len = std::min(kSubBlock, n - start);
    const T* MARS_RESTRICT a = w + start;
    const T* MARS_RESTRICT b = kHasW0 ? w0 + start : nullptr;
    T acc[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= len; i += kLanes) {
      Prefetch<T, kHasW0>(a + i, b + i);
      for (int j = 0; j < kLanes; ++j) acc[j] += Term::Of(kHasW0 ? a[i + j] - b[i + j] : a[i + j]);
    }
    T part = 0;
    for (; i < len; ++i) part += Term::Of(kHasW0 ? a[i] - b[i] : a[i]);
    total += static_cast<double>(part + TreeSum<T, kLanes>(acc));
  }
  return total;
}

template <typename T, bool kHasW0>
MARS_INLINE double L1Distance(const T* MARS_RESTRICT w, const T* MARS_RESTRICT w0, int64_t n) {
  return BlockedSum<AbsTerm, T, kHasW0>(w, w0, n);
}

template <typename T, bool kHasW0>
MARS_INLINE double SquaredDistance(const T* MARS_RESTRICT w, const T* MARS_RESTRICT w0, int64_t n) {
  return BlockedSum<SquareTerm, T, kHasW0>(w, w0, n);
}

// w = w0 + (w - w0) * f   (or w = w * f).
template <typename T, bool kHasW0>
MARS_INLINE void Rescale(T* MARS_RESTRICT w, const T* MARS_RESTRICT w0, int64_t n, T f) {
  if constexpr (kHasW0) {
#pragma GCC unroll 4
    for (int64_t i = 0; i < n; ++i) w[i] = w0[i] + (w[i] - w0[i]) * f;
  } else {
#pragma GCC unroll 4
    for (int64_t i = 0; i < n; ++i) w[i] = w[i] * f;
  }
}

// The fused MARS rows [begin, end): distance, then (row still in cache) the
// rescale when it is outside the ball.
template <typename T, bool kHasW0>
MARS_INLINE void MarsRowsRange(T* w, const T* w0, int64_t rowLen, int64_t begin, int64_t end, double radius,
                               Tally* tally) {
  for (int64_t r = begin; r < end; ++r) {
    T* wr = w + r * rowLen;
    const T* w0r = kHasW0 ? w0 + r * rowLen : nullptr;
    const double s = L1Distance<T, kHasW0>(wr, w0r, rowLen);
    if (!std::isfinite(s)) {
      ++tally->nonFinite;
    } else if (s > radius) {
      Rescale<T, kHasW0>(wr, w0r, rowLen, static_cast<T>(radius / s));
      tally->Row(s, radius, true);
    } else {
      tally->Row(s, s, false);
    }
  }
}

MARS_CPU_CLONES void MarsRows(float* w, const float* w0, int64_t rowLen, int64_t begin, int64_t end, double radius,
                              Tally* tally) {
  if (w0) {
    MarsRowsRange<float, true>(w, w0, rowLen, begin, end, radius, tally);
  } else {
    MarsRowsRange<float, false>(w, w0, rowLen, begin, end, radius, tally);
  }
}

MARS_CPU_CLONES void MarsRows(double* w, const double* w0, int64_t rowLen, int64_t begin, int64_t end, double radius,
                              Tally* tally) {
  if (w0) {
    MarsRowsRange<double, true>(w, w0, rowLen, begin, end, radius, tally);
  } else {
    MarsRowsRange<double, false>(w, w0, rowLen, begin, end, radius, tally);
  }
}

MARS_CPU_CLONES double SquaredDistanceOf(const float* w, const float* w0, int64_t n) {
  return w0 ? SquaredDistance<float, true>(w, w0, n) : SquaredDistance<float, false>(w, w0, n);
}
MARS_CPU_CLONES double SquaredDistanceOf(const double* w, const double* w0, int64_t n) {
  return w0 ? SquaredDistance<double, true>(w, w0, n) : SquaredDistance<double, false>(w, w0, n);
}
MARS_CPU_CLONES void RescaleOf(float* w, const float* w0, int64_t n, float f) {
  if (w0) {
    Rescale<float, true>(w, w0, n, f);
  } else {
    Rescale<float, false>(w, w0, n, f);
  }
}
MARS_CPU_CLONES void RescaleOf(double* w, const double* w0, int64_t n, double f) {
  if (w0) {
    Rescale<double, true>(w, w0, n, f);
  } else {
    Rescale<double, false>(w, w0, n, f);
  }
}

// Exact Euclidean projection of each row's difference v = W - W0 onto the
// l1 ball of radius r: v <- sign(v) max(|v| - theta, 0) with theta such that
// the result has l1 norm r. theta is found by Michelot's iteration (1986), the
// same as the CUDA kernel: theta_0 = (s - r) / n, then over the candidates
// C = {|v| > theta_k}, theta_{k+1} = (sum_C |v| - r) / |C|. theta increases
// to the exact threshold and C shrinks strictly until it stops changing, so
// the loop ends after at most n rounds (a handful in practice), with the
// exact theta. This replaces the sort-based algorithm of Duchi et al. (2008),
// which gives the same theta but was about 3x slower here (the tests check
// the result against a bisection and the optimality conditions). Rows inside
// the ball are untouched. `mags` holds one row's candidates (per task).
template <typename T>
void ExactL1Rows(T* w, const T* w0, int64_t rowLen, int64_t begin, int64_t end, double radius, Tally* tally) {
  std::vector<double> mags;
  for (int64_t r = begin; r < end; ++r) {
    T* wr = w + r * rowLen;
    const T* w0r = w0 ? w0 + r * rowLen : nullptr;
    const double s = w0r ? L1Distance<T, true>(wr, w0r, rowLen) : L1Distance<T, false>(wr, nullptr, rowLen);
    if (!std::isfinite(s)) {
      ++tally->nonFinite;
      continue;
    }
    if (s <= radius) {
      tally->Row(s, s, false);
      continue;
    }
    double theta = (s - radius) / static_cast<double>(rowLen);
    mags.clear();
    double kept = 0;
    for (int64_t c = 0; c < rowLen; ++c) {
      const double m = std::abs(static_cast<double>(w0r ? wr[c] - w0r[c] : wr[c]));
      if (m > theta) {
        mags.push_back(m);
        kept += m;
      }
    }
    while (!mags.empty()) {
      const double next = (kept - radius) / static_cast<double>(mags.size());
      size_t k = 0;
      double sum = 0;
      for (double m : mags) {
        if (m > next) {
          mags[k++] = m;
          sum += m;
        }
      }
      theta = next;
      // Same set: theta is exact. Empty (only when r = 0: theta reached the
      // largest magnitude): every element shrinks to 0, also exact.
      if (k == mags.size() || k == 0) break;
      mags.resize(k);
      kept = sum;
    }
    for (int64_t c = 0; c < rowLen; ++c) {
      const T d = w0r ? wr[c] - w0r[c] : wr[c];
      const double m = std::abs(static_cast<double>(d)) - theta;
      const T shrunk = m > 0 ? static_cast<T>(std::copysign(m, static_cast<double>(d))) : T(0);
      wr[c] = w0r ? w0r[c] + shrunk : shrunk;
    }
    tally->Row(s, radius, true);
  }
}

// ---------------------------------------------------------------------------
// Validation and layout
// ---------------------------------------------------------------------------

std::string ShapeText(const at::Tensor& t) { return "[" + c10::Join(", ", t.sizes()) + "]"; }

void CheckRadius(double value, const char* what) {
  if (!std::isfinite(value) || value < 0) {
    throw CodedError("ERR_INVALID_ARGUMENT",
                     std::string(what) + " must be a finite number >= 0, got " + std::to_string(value));
  }
}

void CheckDevice(const at::Tensor& t, const char* what) {
  if (t.is_cpu()) return;
  if (t.is_cuda()) {
#ifdef MARS_WITH_CUDA
    return;
#else
    throw CodedError("ERR_DEVICE", std::string(what) +
                                       " is on " + t.device().str() +
                                       " but this build of mars-finetune has no CUDA kernels (it was built against a "
                                       "CPU LibTorch); rebuild it against a CUDA LibTorch or move the tensor to cpu");
#endif
  }
  throw CodedError("ERR_DEVICE", std::string(what) + " is on " + t.device().str() +
                                     "; the projections run on cpu and cuda only");
}

void CheckTarget(const at::Tensor& t, const char* what) {
  if (!t.defined()) throw CodedError("ERR_INVALID_ARGUMENT", std::string(what) + " is an undefined tensor");
  const at::ScalarType type = t.scalar_type();
  if (type != at::kFloat && type != at::kDouble) {
    throw CodedError("ERR_DTYPE", std::string(what) + " must be float32 or float64, got " + c10::toString(type));
  }
  CheckDevice(t, what);
}

// `other` must match `t` in dtype, shape and device.
void CheckPartner(const at::Tensor& t, const at::Tensor& other, const char* what, const char* otherWhat) {
  if (!other.defined()) throw CodedError("ERR_INVALID_ARGUMENT", std::string(otherWhat) + " is an undefined tensor");
  if (other.scalar_type() != t.scalar_type()) {
    throw CodedError("ERR_DTYPE", std::string(otherWhat) + " is " + c10::toString(other.scalar_type()) + " but " +
                                      what + " is " + c10::toString(t.scalar_type()) + "; they must match");
  }
  if (!other.sizes().equals(t.sizes())) {
    throw CodedError("ERR_SHAPE", std::string(otherWhat) + " has shape " + ShapeText(other) + " but " + what +
                                      " has shape " + ShapeText(t) + "; they must match");
  }
  if (other.device() != t.device()) {
    throw CodedError("ERR_DEVICE", std::string(otherWhat) + " is on " + other.device().str() + " but " + what +
                                       " is on " + t.device().str() + "; they must be on the same device");
  }
}

// True when row r of t occupies the dense block [r * rowLen, (r + 1) * rowLen)
// of its memory (in some order): contiguous, channels-last and any other dense
// permutation that keeps the first axis outermost.
bool RowsAreDenseBlocks(const at::Tensor& t) {
  if (!t.is_non_overlapping_and_dense()) return false;
  if (t.dim() == 0 || t.size(0) <= 1) return true;
  return t.stride(0) == t.numel() / t.size(0);
}

// The tensors the kernels work on: `w` itself whenever its layout allows
// (the fused path), else a contiguous copy written back afterwards.
struct Working {
  at::Tensor w;
  at::Tensor w0;
  bool copyBack = false;
};

Working Prepare(const at::Tensor& w, const at::Tensor& w0, bool rowWise) {
  const bool wDense = rowWise ? RowsAreDenseBlocks(w) : w.is_non_overlapping_and_dense();
  Working k;
  if (wDense) {
    k.w = w;
  } else {
    c10::NoGradGuard noGrad;
    k.w = w.detach().contiguous();
    k.copyBack = true;
  }
  if (w0.defined()) {
    if (w0.strides().equals(k.w.strides())) {
      k.w0 = w0;
    } else {
      c10::NoGradGuard noGrad;
      k.w0 = at::empty_like(k.w, at::MemoryFormat::Preserve);
      k.w0.copy_(w0.detach());
    }
  }
  return k;
}

// Publishes what the kernels wrote: copies a working copy back, or bumps the
// version counter as an in-place op would.
void Finish(const at::Tensor& w, const Working& k, bool wrote) {
  if (!wrote) return;
  if (k.copyBack) {
    c10::NoGradGuard noGrad;
    w.detach().copy_(k.w);  // shares w's version counter, so this bumps it
    return;
  }
  if (!w.is_inference()) w.unsafeGetTensorImpl()->bump_version();
}

#ifndef MARS_WITH_CUDA
[[noreturn]] void NoCuda() {
  throw CodedError("ERR_DEVICE", "this build of mars-finetune has no CUDA kernels");
}
#endif

// ---------------------------------------------------------------------------
// CPU drivers
// ---------------------------------------------------------------------------

template <typename T>
ProjectionStats MarsRowsCpu(const at::Tensor& w, const at::Tensor& w0, int64_t rows, int64_t rowLen, double radius,
                            RowMap map) {
  T* wp = w.data_ptr<T>();
  const T* w0p = w0.defined() ? w0.data_ptr<T>() : nullptr;
  std::mutex mutex;
  Tally total;
  const int64_t grain = std::max<int64_t>(1, kGrainElements / std::max<int64_t>(1, rowLen));
  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    Tally local;
    if (map == RowMap::kExactL1) {
      ExactL1Rows<T>(wp, w0p, rowLen, begin, end, radius, &local);
    } else {
      MarsRows(wp, w0p, rowLen, begin, end, radius, &local);
    }
    std::lock_guard<std::mutex> lock(mutex);
    total.Merge(local);
  });
  return total.ToStats(rows);
}

// The batched MARS rescale on CPU: every row of every tensor, in pieces of
// about kGrainElements elements, one parallel region. Tallies are kept per
// piece and merged per tensor in order, so statistics do not depend on the
// thread count either.
template <typename T>
std::vector<ProjectionStats> MarsRowsManyCpu(const std::vector<at::Tensor>& ws, const std::vector<at::Tensor>& w0s,
                                             const std::vector<double>& radii) {
  struct Piece {
    size_t task;
    int64_t begin;
    int64_t end;
  };
  std::vector<Piece> pieces;
  int64_t elements = 0;
  for (size_t t = 0; t < ws.size(); ++t) {
    const int64_t rows = ws[t].size(0);
    const int64_t rowLen = ws[t].numel() / rows;
    const int64_t step = std::max<int64_t>(1, kGrainElements / rowLen);
    for (int64_t b = 0; b < rows; b += step) pieces.push_back({t, b, std::min(rows, b + step)});
    elements += ws[t].numel();
  }
  std::vector<Tally> tallies(pieces.size());
  const int64_t n = static_cast<int64_t>(pieces.size());
  const int64_t grain = elements < 2 * kGrainElements ? n : 1;  // tiny jobs stay on this thread
  at::parallel_for(0, n, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const Piece& p = pieces[i];
      const at::Tensor& w = ws[p.task];
      const at::Tensor& w0 = w0s[p.task];
      MarsRows(w.data_ptr<T>(), w0.defined() ? w0.data_ptr<T>() : nullptr, w.numel() / w.size(0), p.begin, p.end,
               radii[p.task], &tallies[i]);
    }
  });
  std::vector<Tally> perTask(ws.size());
  for (size_t i = 0; i < pieces.size(); ++i) perTask[pieces[i].task].Merge(tallies[i]);
  std::vector<ProjectionStats> out;
  for (size_t t = 0; t < ws.size(); ++t) out.push_back(perTask[t].ToStats(ws[t].size(0)));
  return out;
}

template <typename T>
ProjectionStats FrobeniusCpu(const at::Tensor& w, const at::Tensor& w0, double radius) {
  T* wp = w.data_ptr<T>();
  const T* w0p = w0.defined() ? w0.data_ptr<T>() : nullptr;
  const int64_t n = w.numel();
  const int64_t blocks = (n + kNormBlock - 1) / kNormBlock;
  std::vector<double> partial(static_cast<size_t>(blocks), 0.0);
  at::parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t start = b * kNormBlock;
      partial[b] = SquaredDistanceOf(wp + start, w0p ? w0p + start : nullptr, std::min(kNormBlock, n - start));
    }
  });
  double squares = 0;
  for (double p : partial) squares += p;
  const double norm = std::sqrt(squares);
  Tally tally;
  if (!std::isfinite(norm)) {
    tally.nonFinite = 1;
  } else if (norm > radius) {
    const T f = static_cast<T>(radius / norm);
    at::parallel_for(0, n, kGrainElements, [&](int64_t begin, int64_t end) {
      RescaleOf(wp + begin, w0p ? w0p + begin : nullptr, end - begin, f);
    });
    tally.Row(norm, radius, true);
  } else {
    tally.Row(norm, norm, false);
  }
  return tally.ToStats(1);
}

template <typename T>
ProjectionStats BatchNormCpu(const at::Tensor& weight, const at::Tensor& runningVar, const at::Tensor& weight0,
                             const at::Tensor& runningVar0, double radius, double eps) {
  T* w = weight.data_ptr<T>();
  const T* rv = runningVar.data_ptr<T>();
  const T* w0 = weight0.data_ptr<T>();
  const T* rv0 = runningVar0.data_ptr<T>();
  const int64_t channels = weight.numel();
  Tally tally;
  for (int64_t c = 0; c < channels; ++c) {
    const double sd = std::sqrt(static_cast<double>(rv[c]) + eps);
    const double s0 = static_cast<double>(w0[c]) / std::sqrt(static_cast<double>(rv0[c]) + eps);
    const double t = static_cast<double>(w[c]) / sd - s0;
    if (!std::isfinite(t) || !std::isfinite(sd)) {
      ++tally.nonFinite;
    } else if (std::abs(t) > radius) {
      const double clipped = std::max(-radius, std::min(radius, t));
      w[c] = static_cast<T>((s0 + clipped) * sd);
      tally.Row(std::abs(t), radius, true);
    } else {
      tally.Row(std::abs(t), std::abs(t), false);
    }
  }
  return tally.ToStats(channels);
}

}  // namespace

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

ProjectionStats ProjectMarsRows(const at::Tensor& w, const at::Tensor* w0Ptr, double radius,
                                const ProjectionOptions& options) {
  CheckTarget(w, "w");
  const at::Tensor w0 = w0Ptr ? *w0Ptr : at::Tensor();
  if (w0Ptr) CheckPartner(w, w0, "w", "w0");
  CheckRadius(radius, "radius");
  if (w.dim() == 0) {
    throw CodedError("ERR_SHAPE", "MARS projection needs a tensor with at least one axis (the output units), got a scalar");
  }
  const int64_t rows = w.size(0);
  const int64_t rowLen = rows > 0 ? w.numel() / rows : 0;
  ProjectionStats stats;
  stats.rows = rows;
  if (w.numel() == 0) return stats;
  if (w0.defined() && w0.data_ptr() == w.data_ptr() && w0.strides().equals(w.strides())) {
    return stats;  // the same memory: every distance is 0
  }
  const Working k = Prepare(w, w0, /*rowWise=*/true);
  if (w.is_cuda()) {
#ifdef MARS_WITH_CUDA
    stats = detail::ProjectMarsRowsCuda(k.w, k.w0, rows, rowLen, radius, options.map, options.collectStats);
#else
    NoCuda();
#endif
  } else {
    AT_DISPATCH_FLOATING_TYPES(w.scalar_type(), "ProjectMarsRows", [&] {
      stats = MarsRowsCpu<scalar_t>(k.w, k.w0, rows, rowLen, radius, options.map);
    });
  }
  Finish(w, k, !stats.statsValid || stats.clipped > 0);
  return stats;
}

std::vector<ProjectionStats> ProjectMarsRowsMany(const std::vector<MarsTask>& tasks, const ProjectionOptions& options) {
  std::vector<ProjectionStats> out(tasks.size());
  if (tasks.empty()) return out;
  // Validate everything first: a bad task must not leave the others half done.
  for (size_t i = 0; i < tasks.size(); ++i) {
    const std::string w = "tasks[" + std::to_string(i) + "].w";
    const std::string w0 = "tasks[" + std::to_string(i) + "].w0";
    CheckTarget(tasks[i].w, w.c_str());
    if (tasks[i].w0.defined()) CheckPartner(tasks[i].w, tasks[i].w0, w.c_str(), w0.c_str());
    CheckRadius(tasks[i].radius, ("tasks[" + std::to_string(i) + "].radius").c_str());
    if (tasks[i].w.dim() == 0) {
      throw CodedError("ERR_SHAPE", w + " is a scalar; MARS projection needs at least one axis (the output units)");
    }
    if (tasks[i].w.device() != tasks[0].w.device()) {
      throw CodedError("ERR_DEVICE", w + " is on " + tasks[i].w.device().str() + " but tasks[0].w is on " +
                                         tasks[0].w.device().str() + "; one call projects tensors of one device");
    }
  }
  // The fused batch takes the rescale map on dense-row layouts; anything else
  // (exact-l1, other layouts, empty or self-aliased tensors) goes one by one.
  std::vector<size_t> batch[2];  // float, double
  for (size_t i = 0; i < tasks.size(); ++i) {
    const MarsTask& t = tasks[i];
    const bool batchable = options.map == RowMap::kRescale && t.w.numel() > 0 && RowsAreDenseBlocks(t.w) &&
                           (!t.w0.defined() ||
                            (t.w0.strides().equals(t.w.strides()) && t.w0.data_ptr() != t.w.data_ptr()));
    if (batchable) {
      batch[t.w.scalar_type() == at::kFloat ? 0 : 1].push_back(i);
    } else {
      out[i] = ProjectMarsRows(t.w, t.w0.defined() ? &t.w0 : nullptr, t.radius, options);
    }
  }
  for (const auto& group : batch) {
    if (group.empty()) continue;
    std::vector<at::Tensor> ws, w0s;
    std::vector<double> radii;
    for (size_t i : group) {
      ws.push_back(tasks[i].w);
      w0s.push_back(tasks[i].w0);
      radii.push_back(tasks[i].radius);
    }
    std::vector<ProjectionStats> stats;
    if (ws[0].is_cuda()) {
#ifdef MARS_WITH_CUDA
      stats = detail::ProjectMarsRowsManyCuda(ws, w0s, radii, options.collectStats);
#else
      NoCuda();
#endif
    } else {
      AT_DISPATCH_FLOATING_TYPES(ws[0].scalar_type(), "ProjectMarsRowsMany", [&] {
        stats = MarsRowsManyCpu<scalar_t>(ws, w0s, radii);
      });
    }
    for (size_t j = 0; j < group.size(); ++j) {
      out[group[j]] = stats[j];
      if (!stats[j].statsValid || stats[j].clipped > 0) Finish(ws[j], Working{ws[j], w0s[j], false}, true);
    }
  }
  return out;
}

ProjectionStats ProjectFrobenius(const at::Tensor& w, const at::Tensor* w0Ptr, double radius,
                                 const ProjectionOptions& options) {
  CheckTarget(w, "w");
  const at::Tensor w0 = w0Ptr ? *w0Ptr : at::Tensor();
  if (w0Ptr) CheckPartner(w, w0, "w", "w0");
  CheckRadius(radius, "radius");
  ProjectionStats stats;
  stats.rows = 1;
  if (w.numel() == 0) return stats;
  if (w0.defined() && w0.data_ptr() == w.data_ptr() && w0.strides().equals(w.strides())) return stats;
  const Working k = Prepare(w, w0, /*rowWise=*/false);
  if (w.is_cuda()) {
#ifdef MARS_WITH_CUDA
    stats = detail::ProjectFrobeniusCuda(k.w, k.w0, radius, options.collectStats);
#else
    NoCuda();
#endif
  } else {
    AT_DISPATCH_FLOATING_TYPES(w.scalar_type(), "ProjectFrobenius", [&] {
      stats = FrobeniusCpu<scalar_t>(k.w, k.w0, radius);
    });
  }
  Finish(w, k, !stats.statsValid || stats.clipped > 0);
  return stats;
}

ProjectionStats ClipBatchNormScale(const at::Tensor& weight, const at::Tensor& runningVar, const at::Tensor& weight0,
                                   const at::Tensor& runningVar0, double radius, double eps,
                                   const ProjectionOptions& options) {
  CheckTarget(weight, "weight");
  CheckPartner(weight, runningVar, "weight", "runningVar");
  CheckPartner(weight, weight0, "weight", "weight0");
  CheckPartner(weight, runningVar0, "weight", "runningVar0");
  CheckRadius(radius, "radius");
  CheckRadius(eps, "eps");
  if (weight.dim() != 1) {
    throw CodedError("ERR_SHAPE", "BatchNorm weight must be 1-D (one scale per channel), got shape " + ShapeText(weight));
  }
  ProjectionStats stats;
  stats.rows = weight.numel();
  if (weight.numel() == 0) return stats;
  c10::NoGradGuard noGrad;
  // 1-D tensors: strided views are handled through contiguous working copies.
  const Working k = Prepare(weight, at::Tensor(), /*rowWise=*/false);
  const at::Tensor rv = runningVar.contiguous();
  const at::Tensor w0 = weight0.contiguous();
  const at::Tensor rv0 = runningVar0.contiguous();
  if (weight.is_cuda()) {
#ifdef MARS_WITH_CUDA
    stats = detail::ClipBatchNormScaleCuda(k.w, rv, w0, rv0, radius, eps, options.collectStats);
#else
    NoCuda();
#endif
  } else {
    AT_DISPATCH_FLOATING_TYPES(weight.scalar_type(), "ClipBatchNormScale", [&] {
      stats = BatchNormCpu<scalar_t>(k.w, rv, w0, rv0, radius, eps);
    });
  }
  Finish(weight, k, !stats.statsValid || stats.clipped > 0);
  return stats;
}

}  // namespace mars
