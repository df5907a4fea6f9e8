// Composes a backbone and a new linear head into one TorchScript module
// with `forward(x) -> logits` and `features(x)`, loadable by Python's
// torch.jit.load and by this package to continue training.
#pragma once

#include <napi.h>
#include <torch/script.h>

namespace mars {

// `pool`: the backbone returns feature maps (B, C, H, W), averaged over H, W.
// The head is drawn from `generator`, or from LibTorch's default one without it.
torch::jit::Module ComposeClassifier(const torch::jit::Module& backbone, int64_t featureDim, int64_t numClasses,
                                     bool pool, c10::optional<at::Generator> generator = c10::nullopt);

void InitClassifier(Napi::Env env, Napi::Object exports);

}  // namespace mars
