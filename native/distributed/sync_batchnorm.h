// SyncBatchNorm for TorchScript networks. PyTorch's nn.SyncBatchNorm swaps
// modules in Python; a loaded TorchScript file cannot swap its classes, so
// this rewrites the graphs instead: a copy of the network (sharing every
// parameter and buffer with the original) whose aten::batch_norm calls become
// mars::sync_batch_norm, which in training mode takes the batch mean and
// variance over every rank's batch (two differentiable all-reduces forward,
// two backward) and otherwise is aten::batch_norm. The original, the one
// saved and evaluated, keeps its plain graphs.
#pragma once

#include <torch/script.h>

#include "distributed/group.h"

namespace mars {

// A copy of `model` sharing its tensors, with every batch_norm synchronised.
torch::jit::Module WithSyncBatchNorm(const torch::jit::Module& model);

// While alive, mars::sync_batch_norm reduces over `group` (one training step:
// forward and backward).
class SyncBatchNormScope {
 public:
  explicit SyncBatchNormScope(DistributedGroup* group);
  ~SyncBatchNormScope();
  SyncBatchNormScope(const SyncBatchNormScope&) = delete;
  SyncBatchNormScope& operator=(const SyncBatchNormScope&) = delete;
};

}  // namespace mars
