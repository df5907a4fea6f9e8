#include "distributed/data_parallel.h"

#include "core/errors.h"
#include "distributed/sync_batchnorm.h"

namespace mars {

DataParallel::DataParallel(std::shared_ptr<DistributedGroup> group, DataParallelSpec spec,
                           const torch::jit::Module& model, std::vector<at::Tensor> trainable)
    : group_(std::move(group)), spec_(spec), trainable_(std::move(trainable)), trainModule_(model) {
  for (const auto& p : model.named_parameters(true)) {
    names_.push_back(p.name);
    params_.push_back(p.value);
  }
  for (const auto& b : model.named_buffers(true)) buffers_.push_back(b.value);
  if (spec_.syncBatchNorm) trainModule_ = WithSyncBatchNorm(model);
}

void DataParallel::BroadcastState() {
  std::vector<at::Tensor> all = params_;
  all.insert(all.end(), buffers_.begin(), buffers_.end());
  group_->Broadcast(all, 0, "broadcasting rank 0's parameters and buffers");
}

std::shared_ptr<void> DataParallel::BeforeForward() {
  return spec_.syncBatchNorm ? std::make_shared<SyncBatchNormScope>(group_.get()) : nullptr;
}

int DataParallel::AfterBackward(bool lossFinite) {
  // syncBatchNorm's running statistics are equal on every rank already.
  if (!spec_.syncBatchNorm && !buffers_.empty()) group_->Broadcast(buffers_, 0, "broadcasting rank 0's buffers");
  at::NoGradGuard noGrad;
  std::vector<at::Tensor> grads;
  for (auto& p : trainable_) {
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    grads.push_back(p.grad());
  }
  // Rides in the first bucket: how many ranks saw a non-finite loss.
  const at::Tensor nonFinite = at::full({1}, lossFinite ? 0.0 : 1.0, grads.empty() ? at::TensorOptions(at::kFloat) : grads.front().options());
  grads.push_back(nonFinite);
  group_->AllReduceSum(grads, "averaging gradients");
  grads.pop_back();
  const double world = group_->worldSize();
  for (auto& g : grads) g.div_(world);
  return static_cast<int>(nonFinite.item<double>());
}

// Rank 0's per-tensor checksums against this rank's, then every rank's
// count of differing tensors to every rank, so that all stop together.
void DataParallel::AfterStep() {
  ++steps_;
  if (spec_.checkEvery <= 0 || steps_ % spec_.checkEvery != 0) return;
  at::NoGradGuard noGrad;
  std::vector<at::Tensor> sums;
  for (const auto& p : params_) sums.push_back(p.detach().to(at::kDouble).sum().reshape({1}));
  const at::Tensor mine = at::cat(sums);
  at::Tensor root = mine.clone();
  group_->Broadcast({root}, 0, "the replica check");
  const at::Tensor differs = mine.ne(root);
  at::Tensor perRank = at::zeros({group_->worldSize()}, mine.options());
  perRank[group_->rank()] = differs.sum();
  group_->AllReduceSum({perRank}, "the replica check");
  const at::Tensor bad = perRank.cpu().nonzero();
  if (bad.numel() == 0) return;
  std::string ranks;
  for (int64_t i = 0; i < bad.size(0); ++i) ranks += (i ? ", " : "") + std::to_string(bad[i][0].item<int64_t>());
  std::string first;
  if (differs.any().item<bool>()) first = " (here, first " + names_[differs.cpu().nonzero()[0][0].item<int64_t>()] + ")";
  throw CodedError("ERR_DISTRIBUTED", "replica check after step " + std::to_string(steps_) + ": the weights of rank " +
                                          ranks + " differ from rank 0's" + first +
                                          "; the ranks did not apply identical updates (different LibTorch builds or CPUs?)");
}

}  // namespace mars
