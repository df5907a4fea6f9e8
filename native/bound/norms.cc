#include "bound/norms.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/torch.h>

#include <cmath>

#include "core/errors.h"

namespace mars {
namespace {

constexpr int64_t kLanczosSteps = 80;  // at most; each keeps one input-sized vector
constexpr double kTolerance = 1e-10;   // relative change of the estimate that ends the iteration

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
// size: Lanczos on A^T A with full reorthogonalisation, where autograd applies
// the exact adjoint for any stride, padding, dilation and groups. The top Ritz
// value converges from below, fast even where the spectrum is dense near its
// top (as a convolution's is), much faster than plain power iteration.
double SpectralNormConv(const at::Tensor& weight, const ConvSpec& conv) {
  const at::Tensor w = Double(weight);
  auto apply = [&](const at::Tensor& x) {
    if (!conv.paddingMode.empty()) {
      return at::_convolution_mode(x, w, {}, conv.stride, conv.paddingMode, conv.dilation, conv.groups);
    }
    const std::vector<int64_t> outputPadding(conv.stride.size(), 0);
    return at::convolution(x, w, {}, conv.stride, conv.padding, conv.dilation, false, outputPadding, conv.groups);
  };
  torch::AutoGradMode enableGrad(true);
  auto gram = [&](const at::Tensor& v) {  // A^T A v: the gradient of <Ax, y> at x = v with y = Av held fixed
    const at::Tensor x = v.reshape(conv.inputShape).clone().requires_grad_(true);
    const at::Tensor y = apply(x);
    return torch::autograd::grad({y}, {x}, {y.detach()})[0].reshape({-1});
  };
  int64_t n = 1;
  for (int64_t size : conv.inputShape) n *= size;
  const int64_t steps = std::min<int64_t>(kLanczosSteps, n);
  // A fixed seed: the same layer always gives the same estimate.
  at::Generator generator = at::detail::createCPUGenerator(0);
  at::Tensor basis = at::zeros({steps, n}, at::kDouble);
  const at::Tensor start = at::randn({n}, generator, at::TensorOptions().dtype(at::kDouble));
  basis[0] = start / start.norm();
  at::Tensor tridiagonal = at::zeros({steps, steps}, at::kDouble);
  double sigma = 0;
  for (int64_t j = 0; j < steps; ++j) {
    at::Tensor z = gram(basis[j]);
    tridiagonal[j][j] = basis[j].dot(z);
    const at::Tensor done = basis.narrow(0, 0, j + 1);
    for (int pass = 0; pass < 2; ++pass) z = z - done.t().mv(done.mv(z));
    const at::Tensor ritz = at::linalg_eigvalsh(tridiagonal.narrow(0, 0, j + 1).narrow(1, 0, j + 1));
    const double next = std::sqrt(std::max(0.0, ritz.max().item<double>()));
    const double size = z.norm().item<double>();
    const bool settled = std::abs(next - sigma) <= kTolerance * next || size <= kTolerance * next * next;
    sigma = next;
    if (settled || j + 1 == steps) break;
    tridiagonal[j][j + 1] = size;
    tridiagonal[j + 1][j] = size;
    basis[j + 1] = z / size;
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
