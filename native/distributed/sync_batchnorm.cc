#include "distributed/sync_batchnorm.h"

#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <map>

#include "core/errors.h"
#include "core/module.h"

namespace mars {
namespace {

// The group of the training step under way. Process-wide rather than
// thread-local: on CUDA the backward pass runs on the autograd engine's device
// thread. Steps never overlap (one compute thread).
std::atomic<DistributedGroup*> gGroup{nullptr};

DistributedGroup& Current() {
  DistributedGroup* g = gGroup.load();
  if (g == nullptr) throw CodedError("ERR_DISTRIBUTED", "syncBatchNorm ran outside a distributed training step");
  return *g;
}

// Sum over the ranks, whose gradient is the sum over the ranks of the gradients.
struct AllReduceSumFunction : public torch::autograd::Function<AllReduceSumFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext*, const at::Tensor& x) {
    at::Tensor y = x.clone();
    Current().AllReduceSum({y}, "syncBatchNorm (forward)");
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*, torch::autograd::variable_list grads) {
    at::Tensor g = grads[0].contiguous().clone();
    Current().AllReduceSum({g}, "syncBatchNorm (backward)");
    return {g};
  }
};

// aten::batch_norm's signature; in training with a group, statistics over every rank's batch.
at::Tensor SyncBatchNorm(const at::Tensor& input, const c10::optional<at::Tensor>& weight,
                         const c10::optional<at::Tensor>& bias, const c10::optional<at::Tensor>& runningMean,
                         const c10::optional<at::Tensor>& runningVar, bool training, double momentum, double eps,
                         bool cudnnEnabled) {
  if (!training || gGroup.load() == nullptr) {
    return at::batch_norm(input, weight, bias, runningMean, runningVar, training, momentum, eps, cudnnEnabled);
  }
  const int64_t channels = input.size(1);
  std::vector<int64_t> dims, shape(input.dim(), 1);
  for (int64_t d = 0; d < input.dim(); ++d) {
    if (d != 1) dims.push_back(d);
  }
  shape[1] = channels;
  // One all-reduce for the per-channel sums and the item count, one for the squared deviations.
  const double local = static_cast<double>(input.numel() / channels);
  const at::Tensor sums = AllReduceSumFunction::apply(at::cat({input.sum(dims), at::full({1}, local, input.options())}));
  const at::Tensor count = sums.narrow(0, channels, 1).detach();
  const at::Tensor mean = sums.narrow(0, 0, channels) / count;
  const at::Tensor centred = input - mean.view(shape);
  const at::Tensor var = AllReduceSumFunction::apply(centred.pow(2).sum(dims)) / count;
  at::Tensor out = centred * (var + eps).rsqrt().view(shape);
  if (weight && weight->defined()) out = out * weight->view(shape);
  if (bias && bias->defined()) out = out + bias->view(shape);
  if (runningMean && runningMean->defined() && runningVar && runningVar->defined()) {
    at::NoGradGuard noGrad;
    const double n = count.item<double>();
    runningMean->mul_(1 - momentum).add_(mean.detach(), momentum);
    runningVar->mul_(1 - momentum).add_(var.detach() * (n / std::max(n - 1, 1.0)), momentum);
  }
  return out;
}

TORCH_LIBRARY(mars, m) {
  m.def(
      "sync_batch_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, Tensor? running_var, "
      "bool training, float momentum, float eps, bool cudnn_enabled) -> Tensor",
      &SyncBatchNorm);
}

int Rewrite(torch::jit::Block* block) {
  static const auto kBatchNorm = c10::Symbol::fromQualString("aten::batch_norm");
  static const auto kSync = c10::Symbol::fromQualString("mars::sync_batch_norm");
  int count = 0;
  for (auto it = block->nodes().begin(); it != block->nodes().end();) {
    torch::jit::Node* node = *it++;
    for (torch::jit::Block* inner : node->blocks()) count += Rewrite(inner);
    if (node->kind() != kBatchNorm) continue;
    torch::jit::Node* sync = block->owningGraph()->create(kSync, node->inputs(), 1);
    sync->output()->setType(node->output()->type());
    sync->insertBefore(node);
    node->output()->replaceAllUsesWith(sync->output());
    node->destroy();
    ++count;
  }
  return count;
}

}  // namespace

torch::jit::Module WithSyncBatchNorm(const torch::jit::Module& model) {
  // clone() gives the copy its own class types and graphs, so the rewrite
  // leaves the original's alone; its tensors are then pointed back at the original's.
  torch::jit::Module copy = model.clone();
  std::map<std::string, torch::jit::Module> copies;
  for (const auto& m : copy.named_modules()) copies.emplace(m.name, m.value);
  bool hasBatchNorm = false;
  for (const auto& m : model.named_modules()) {
    torch::jit::Module target = copies.at(m.name);
    for (const auto& p : m.value.named_parameters(false)) target.setattr(p.name, p.value);
    for (const auto& b : m.value.named_buffers(false)) target.setattr(b.name, b.value);
    const auto type = m.value.type()->name();
    hasBatchNorm = hasBatchNorm || (type && type->name().find("BatchNorm") != std::string::npos);
  }
  int rewritten = 0;
  // A loaded module calls torch.nn.functional.batch_norm as a function of its
  // compilation unit, shared with the original: inline calls into the copy's
  // own graphs first, then rewrite those.
  for (const auto& m : copy.modules()) {
    for (const auto& method : m.get_methods()) {
      InlineAll(*method.graph());
      rewritten += Rewrite(method.graph()->block());
    }
  }
  if (hasBatchNorm && rewritten == 0) {
    throw CodedError("ERR_DISTRIBUTED", "syncBatchNorm: the network has BatchNorm layers but no batch_norm call was found in its graphs");
  }
  return copy;
}

SyncBatchNormScope::SyncBatchNormScope(DistributedGroup* group) { gGroup.store(group); }
SyncBatchNormScope::~SyncBatchNormScope() { gGroup.store(nullptr); }

}  // namespace mars
