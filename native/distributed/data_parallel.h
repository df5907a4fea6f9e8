// What a training session does differently as one rank of a data-parallel
// job, after PyTorch's DistributedDataParallel: rank 0's parameters and
// buffers everywhere at the start; rank 0's buffers after every backward pass
// (DDP's broadcast_buffers, which takes them before the next forward: the
// same values, but here the projection, whose BatchNorm clip reads the
// running variance, sees them too), or BatchNorm statistics over the global
// batch (syncBatchNorm); gradients summed over the ranks in flat buckets after the
// backward pass and divided by the world size; and, as a debug option, a
// check every `checkEvery` steps that every rank holds the same weights.
//
// Gradients are reduced after backward rather than by c10d::Reducer's
// autograd hooks during it: the Reducer's constructor and the process group
// it wants changed between LibTorch 1.13 and 2.x, and on a CPU the backward
// pass and Gloo share the same cores, so overlapping them buys little.
#pragma once

#include <torch/script.h>

#include <memory>
#include <string>
#include <vector>

#include "distributed/group.h"

namespace mars {

struct DataParallelSpec {
  bool syncBatchNorm = false;
  int64_t checkEvery = 0;  // 0: never
};

class DataParallel {
 public:
  // `model` is the classifier; `trainable` its parameters that take gradients.
  DataParallel(std::shared_ptr<DistributedGroup> group, DataParallelSpec spec, const torch::jit::Module& model,
               std::vector<at::Tensor> trainable);

  // Rank 0's parameters and buffers on every rank (once, before W0 is taken).
  void BroadcastState();
  // The module to train: `model` itself, or with syncBatchNorm a copy sharing
  // its tensors whose BatchNorm layers normalise over the global batch.
  torch::jit::Module& trainModule() { return trainModule_; }
  // Before the forward pass. Returns a guard that keeps syncBatchNorm's group
  // current until the backward pass is done.
  std::shared_ptr<void> BeforeForward();
  // After the backward pass: averages the gradients over the ranks and takes
  // rank 0's buffers; returns how many ranks' loss was not finite.
  int AfterBackward(bool lossFinite);
  // After the optimiser step and projection: the replica check, every checkEvery steps.
  void AfterStep();

 private:
  std::shared_ptr<DistributedGroup> group_;
  DataParallelSpec spec_;
  std::vector<std::string> names_;   // every parameter, in module order
  std::vector<at::Tensor> params_;   // likewise
  std::vector<at::Tensor> buffers_;
  std::vector<at::Tensor> trainable_;
  torch::jit::Module trainModule_;
  int64_t steps_ = 0;
};

}  // namespace mars
