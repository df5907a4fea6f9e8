#include "norms.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/torch.h>

#include <cmath>

#include "errors.h"

namespace mars {
namespace {

constexpr int kMaxIterations = 300;
constexpr int64_t kBlock = 8;          // vectors iterated together
constexpr double kTolerance = 1e-10;  // relative change of the estimate between iterations

at::Tensor Double(const at::Tensor& t) { return t.detach().to(at::kCPU, at::kDouble); }

at::Tensor Rows(const at::Tensor& t) { return Double(t).reshape({t.dim() == 0 ? 1 : t.size(0), -1}); }

at::Tensor Vector(const c10::optional<at::Tensor>& t, int64_t rows, double fill) {
  return t && t->defined() ? Double(*t).reshape({-1}) : at::full({rows}, fill, at::kDouble);
}

void RequireSameShape(const at::Tensor& a, const at::Tensor& b, const char* what) {
  if (!a.sizes().equals(b.sizes())) {
    throw CodedError("ERR_BOUND_INIT", std::string(what) + " has shape [" + c10::Join(", ", a.sizes()) +
                                           "] but its initial version has [" + c10::Join(", ", b.sizes()) + "]");
  }
}

// Largest singular value of a matrix (exact, by SVD).
double SpectralNormLinear(const at::Tensor& weight) { return at::linalg_matrix_norm(Rows(weight), 2).item<double>(); }

// Largest singular value of a convolution as an operator on its actual input
// size. Subspace iteration on A^T A with a block of vectors (one batch of the
// convolution) and Rayleigh-Ritz: autograd applies the exact adjoint for any
// stride, padding, dilation and groups, and the Ritz value converges from
// below at the rate (σ_{k+1}/σ_1)^2, fast even when the top singular values are close.
double SpectralNormConv(const at::Tensor& weight, const ConvSpec& conv) {
  const at::Tensor w = Double(weight);
  auto apply = [&](const at::Tensor& x) {
    if (!conv.paddingMode.empty()) {
      return at::_convolution_mode(x, w, {}, conv.stride, conv.paddingMode, conv.dilation, conv.groups);
    }
    const std::vector<int64_t> outputPadding(conv.stride.size(), 0);
    return at::convolution(x, w, {}, conv.stride, conv.padding, conv.dilation, false, outputPadding, conv.groups);
  };
  std::vector<int64_t> shape = conv.inputShape;
  int64_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i) n *= shape[i];
  shape[0] = std::min<int64_t>(kBlock, n);
  // A fixed seed: the same layer always gives the same estimate.
  at::Generator generator = at::detail::createCPUGenerator(0);
  at::Tensor basis = std::get<0>(at::linalg_qr(at::randn({n, shape[0]}, generator, at::TensorOptions().dtype(at::kDouble))));
  torch::AutoGradMode enableGrad(true);
  double sigma = 0;
  for (int i = 0; i < kMaxIterations; ++i) {
    const at::Tensor x = basis.t().reshape(shape).requires_grad_(true);
    const at::Tensor y = apply(x);
    // The gradient of <Ax, y> with y = Ax held fixed is A^T A x, for every vector of the block.
    const at::Tensor image = torch::autograd::grad({y}, {x}, {y.detach()})[0].reshape({shape[0], n}).t();
    const at::Tensor ritz = basis.t().mm(image);
    const double next = std::sqrt(std::max(0.0, at::linalg_eigvalsh((ritz + ritz.t()) / 2).max().item<double>()));
    basis = std::get<0>(at::linalg_qr(image.detach()));
    const bool settled = std::abs(next - sigma) <= kTolerance * next;
    sigma = next;
    if (settled || next == 0) break;
  }
  return sigma;
}

}  // namespace

RowNorms MeasureRows(const at::Tensor& weight, const c10::optional<at::Tensor>& bias,
                     const c10::optional<at::Tensor>& initWeight, const c10::optional<at::Tensor>& initBias) {
  Require(weight.numel() > 0, "a weight must not be empty");
  const at::Tensor w = Rows(weight);
  const at::Tensor w0 = initWeight && initWeight->defined() ? Rows(*initWeight) : at::zeros_like(w);
  RequireSameShape(w, w0, "the weight");
  const at::Tensor b = Vector(bias, w.size(0), 0);
  const at::Tensor b0 = Vector(initBias, w.size(0), 0);
  RequireSameShape(b, b0, "the bias");
  Require(b.size(0) == w.size(0), "a bias must have one entry per row of its weight");
  const at::Tensor dw = w - w0;
  const at::Tensor db = b - b0;
  RowNorms r;
  r.norm = w.abs().sum(1);
  r.initNorm = w0.abs().sum(1);
  r.distance = dw.abs().sum(1);
  r.bias = b.abs();
  r.initBias = b0.abs();
  r.biasDistance = db.abs();
  r.frobeniusDistance = std::sqrt(dw.pow(2).sum().item<double>() + db.pow(2).sum().item<double>());
  r.l21Distance = dw.norm(2, {1}).sum().item<double>();
  return r;
}

Folded FoldBatchNorm(const at::Tensor& weight, const c10::optional<at::Tensor>& bias, const BatchNormTensors& bn) {
  const int64_t rows = weight.size(0);
  const at::Tensor mean = Vector(bn.runningMean, rows, 0);
  const at::Tensor var = Vector(bn.runningVar, rows, 1);
  Require(mean.size(0) == rows && var.size(0) == rows,
          "BatchNorm has " + std::to_string(var.size(0)) + " channels but the layer before it has " +
              std::to_string(rows) + " output units");
  Folded f;
  f.scale = Vector(bn.weight, rows, 1) / (var + bn.eps).sqrt();
  std::vector<int64_t> column(weight.dim(), 1);
  column[0] = rows;
  f.weight = Double(weight) * f.scale.view(column);
  f.bias = f.scale * Vector(bias, rows, 0) + Vector(bn.bias, rows, 0) - f.scale * mean;
  return f;
}

LayerMeasure MeasureLayer(const LayerInput& in) {
  const at::Tensor w = in.transpose ? in.weight.t() : in.weight;
  const at::Tensor w0 = in.transpose ? in.initWeight.t() : in.initWeight;
  LayerMeasure m;
  at::Tensor operatorWeight = w;
  if (in.batchnorm) {
    Require(in.initBatchnorm.has_value(), "a folded BatchNorm needs its initial statistics too");
    const Folded f = FoldBatchNorm(w, in.bias, *in.batchnorm);
    const Folded f0 = FoldBatchNorm(w0, in.initBias, *in.initBatchnorm);
    m.rows = MeasureRows(f.weight, f.bias, f0.weight, f0.bias);
    m.unfoldedInitNorm = Rows(w0).abs().sum(1);
    m.initScale = f0.scale.abs();
    operatorWeight = f.weight;
  } else {
    m.rows = MeasureRows(w, in.bias, w0, in.initBias);
  }
  if (in.op == "linear") m.spectral = SpectralNormLinear(operatorWeight);
  if (in.op == "conv") m.spectral = SpectralNormConv(operatorWeight, in.conv);
  if (in.op == "diagonal") m.spectral = Double(operatorWeight).abs().max().item<double>();
  return m;
}

}  // namespace mars
