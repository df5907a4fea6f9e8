#include "train/head.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/init.h>

#include "core/async.h"
#include "core/convert.h"
#include "core/errors.h"
#include "core/module.h"

namespace mars {
namespace {

// The head's class is called Linear so that the parameter listing reports it
// as a linear layer, like torch.nn.Linear.
// `generator`: the run's own (never the process-wide one when a seed is given).
torch::jit::Module MakeHead(int64_t in, int64_t out, c10::optional<at::Generator> generator) {
  torch::jit::Module head("__torch__.mars.Linear");
  // PyTorch's nn.Linear initialisation: U(-1/sqrt(in), 1/sqrt(in)) for both.
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  torch::NoGradGuard noGrad;
  head.register_parameter("weight", torch::empty({out, in}).uniform_(-bound, bound, generator).requires_grad_(), false);
  head.register_parameter("bias", torch::empty({out}).uniform_(-bound, bound, generator).requires_grad_(), false);
  head.define(R"(
def forward(self, x: Tensor) -> Tensor:
    return torch.linear(x, self.weight, self.bias)
)");
  return head;
}

}  // namespace

torch::jit::Module ComposeClassifier(const torch::jit::Module& backbone, int64_t featureDim, int64_t numClasses,
                                     bool pool, c10::optional<at::Generator> generator) {
  torch::jit::Module classifier("__torch__.mars.Classifier");
  classifier.register_module("backbone", backbone);
  classifier.register_module("head", MakeHead(featureDim, numClasses, generator));
  classifier.define(pool ? R"(
def features(self, x: Tensor) -> Tensor:
    return self.backbone.forward(x).mean(dim=[2, 3])
)"
                         : R"(
def features(self, x: Tensor) -> Tensor:
    return self.backbone.forward(x)
)");
  classifier.define(R"(
def forward(self, x: Tensor) -> Tensor:
    return self.head.forward(self.features(x))
)");
  return classifier;
}

namespace {

// composeClassifier(backbone, featureDim, numClasses, pool, seed?) -> Promise<Module>.
// The backbone is deep-copied: the caller's module stays as it was. With a
// seed, the head is drawn from a generator of its own seeded with it (the
// same values torch.manual_seed(seed) would give), so that runs in one
// process never reseed or consume each other's stream.
Napi::Value Compose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "composeClassifier", [&]() -> Napi::Value {
    auto state = ModuleWrap::FromJs(info[0], "backbone");
    Require(info.Length() >= 4 && info[1].IsNumber() && info[2].IsNumber() && info[3].IsBoolean(),
            "composeClassifier(backbone, featureDim, numClasses, pool)");
    const int64_t featureDim = info[1].As<Napi::Number>().Int64Value();
    const int64_t numClasses = info[2].As<Napi::Number>().Int64Value();
    const bool pool = info[3].As<Napi::Boolean>().Value();
    Require(featureDim >= 1 && numClasses >= 2, "featureDim must be >= 1 and numClasses >= 2");
    c10::optional<uint64_t> seed;
    if (info.Length() > 4 && !info[4].IsUndefined()) {
      Require(info[4].IsNumber() && info[4].As<Napi::Number>().DoubleValue() >= 0, "seed must be a non-negative integer");
      seed = static_cast<uint64_t>(info[4].As<Napi::Number>().Int64Value());
    }
    return RunAsync<std::shared_ptr<ModuleState>>(
        env, "ERR_TORCH", "cannot compose the classifier",
        [state, featureDim, numClasses, pool, seed]() {
          std::lock_guard<std::mutex> lock(state->mutex);
          c10::optional<at::Generator> generator;
          if (seed) generator = at::make_generator<at::CPUGeneratorImpl>(*seed);
          auto classifier = ComposeClassifier(DeepCopy(state->module), featureDim, numClasses, pool, generator);
          const auto device = state->module.parameters().size() ? (*state->module.parameters().begin()).device()
                                                                 : c10::Device(c10::kCPU);
          classifier.to(device);
          return std::make_shared<ModuleState>(std::move(classifier));
        },
        [](Napi::Env env, std::shared_ptr<ModuleState>& s) -> Napi::Value { return ModuleWrap::Wrap(env, s, ModuleBytes(s->module)); });
  });
}

// identityModule() -> Module whose forward returns its input: the backbone of
// a linear probe on precomputed features (DELTA's channel weights).
Napi::Value Identity(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), "ERR_TORCH", "identityModule", [&]() -> Napi::Value {
    torch::jit::Module identity("__torch__.mars.Identity");
    identity.define("def forward(self, x: Tensor) -> Tensor:\n    return x\n");
    return ModuleWrap::Wrap(info.Env(), std::make_shared<ModuleState>(std::move(identity)));
  });
}

}  // namespace

void InitClassifier(Napi::Env env, Napi::Object exports) {
  exports.Set("composeClassifier", Napi::Function::New(env, Compose, "composeClassifier"));
  exports.Set("identityModule", Napi::Function::New(env, Identity, "identityModule"));
}

}  // namespace mars
