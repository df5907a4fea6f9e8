// The norms the bound needs, in float64 with LibTorch's own ops. A weight's
// first axis is its output unit (Linear (out, in), Conv (out, in/groups, k...));
// everything else is flattened into that unit's row, and a bias joins its row.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace mars {

// Per-row statistics of a layer and of its initial version.
struct RowNorms {
  at::Tensor norm, initNorm, distance;      // ||W_r||_1, ||W0_r||_1, ||W_r - W0_r||_1
  at::Tensor bias, initBias, biasDistance;  // |b_r|, |b0_r|, |b_r - b0_r| (zero without a bias)
  double frobeniusDistance = 0;             // ||[W b] - [W0 b0]||_F
  double l21Distance = 0;                   // sum_r ||W_r - W0_r||_2 (weights only)
};

// An initial weight or bias that is absent counts as zero.
RowNorms MeasureRows(const at::Tensor& weight, const c10::optional<at::Tensor>& bias,
                     const c10::optional<at::Tensor>& initWeight, const c10::optional<at::Tensor>& initBias);

struct BatchNormTensors {
  c10::optional<at::Tensor> weight, bias;  // absent without affine parameters
  at::Tensor runningMean, runningVar;
  double eps = 1e-5;
};

// BatchNorm in eval mode folded into the layer before it:
// s = gamma / sqrt(var + eps), W' = diag(s) W, b' = s b + beta - s mean.
struct Folded {
  at::Tensor weight, bias, scale;
};

Folded FoldBatchNorm(const at::Tensor& weight, const c10::optional<at::Tensor>& bias, const BatchNormTensors& bn);

// How a convolution is applied, so that its operator can be rebuilt.
struct ConvSpec {
  std::vector<int64_t> inputShape;  // one sample: (1, C, H, W)
  std::vector<int64_t> stride, padding, dilation;
  std::string paddingMode;  // "same" or "valid" when padding was given as a string, else empty
  int64_t groups = 1;
};

// One layer of the bound: weight, bias, an optional BatchNorm folded after it
// (the fine-tuned and the initial network each with its own statistics), and
// the operator whose spectral norm is wanted.
struct LayerInput {
  at::Tensor weight, initWeight;
  c10::optional<at::Tensor> bias, initBias;
  bool transpose = false;  // the operator's rows are the weight's columns (x @ W)
  c10::optional<BatchNormTensors> batchnorm, initBatchnorm;
  std::string op;  // "linear", "conv", "diagonal" (a lone BatchNorm), or "" for no spectral norm
  ConvSpec conv;
};

struct LayerMeasure {
  RowNorms rows;               // of the folded layer when there is a BatchNorm
  double spectral = -1;        // largest singular value of the (folded) operator; -1 when not asked
};

LayerMeasure MeasureLayer(const LayerInput& in);

}  // namespace mars
