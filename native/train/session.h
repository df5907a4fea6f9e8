// A fine-tuning session: the classifier, its optimiser, the regulariser's
// plan (which tensors are projected or penalised, with what radius or weight,
// around which centre) and the snapshot W0 of the starting weights. `step`
// runs forward, loss, penalty, backward, optimiser step and projection on a
// worker thread; `evaluate` runs the model without gradients.
#pragma once

#include <napi.h>
#include <torch/optim.h>
#include <torch/script.h>

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "core/addon_data.h"
#include "core/handle.h"
#include "core/module.h"
#include "train/amp.h"
#include "train/rng.h"

namespace mars {

class DataParallel;

enum class ConstraintType { Mars, Frobenius, BatchNorm };
enum class PenaltyNorm { Mars, L2Squared };

struct Constraint {
  std::string name;
  ConstraintType type;
  double radius;
  at::Tensor param;       // the live parameter
  at::Tensor init;        // centre; undefined means zero
  at::Tensor runningVar;  // BatchNorm only: live and snapshot running variance
  at::Tensor runningVar0;
};

struct Penalty {
  std::string name;
  PenaltyNorm norm;
  double weight;
  at::Tensor param;
  at::Tensor init;  // undefined means zero
};

struct SessionState {
  std::shared_ptr<ModuleState> model;
  torch::jit::Module backbone;
  torch::jit::Module head;
  bool pool = false;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::vector<Constraint> constraints;
  std::vector<Penalty> penalties;
  std::map<std::string, at::Tensor> init;  // W0 of every parameter and buffer at the start
  // DELTA: feature-map distance to the frozen starting backbone, channel-weighted.
  double deltaAlpha = 0;
  at::Tensor channelWeights;
  std::optional<torch::jit::Module> frozenBackbone;
  // BSS: shrink the k smallest singular values of the batch's feature matrix.
  double bssEta = 0;
  int64_t bssK = 0;
  // One rank of a data-parallel job (distributed/data_parallel.h); null in one process.
  std::shared_ptr<DataParallel> parallel;
  // Mixed precision: autocast's dtype (forward and loss only; parameters, the
  // optimiser and the projection stay in fp32) and fp16's loss scale.
  bool autocast = false;
  at::ScalarType autocastDtype = at::kFloat;
  LossScaler scaler;
  // The run's own random streams: dropout and any other randomness of its steps.
  RunGenerator rng;
  at::Tensor classWeights;  // cross-entropy weights in training; undefined: unweighted
  bool freezeBackbone = false;
  bool freezeStatistics = false;
  // Evaluation's copy of the classifier, frozen and optimised for inference
  // (BatchNorm folded into the convolutions, oneDNN layouts): on the CPU in
  // fp32 it runs an evaluation pass 1.5-2.5x faster (docs/performance.md).
  // Built at the second evaluation in a row since the weights last changed
  // (a one-batch split never pays for it), dropped by the next step; a
  // module that cannot be frozen is evaluated as it is.
  std::optional<torch::jit::Module> inference;
  int evaluationsSinceStep = 0;
  bool inferenceUnsupported = false;
};

class SessionWrap : public Handle<SessionWrap, std::shared_ptr<SessionState>> {
 public:
  static constexpr const char* kName = "Session";
  static constexpr const char* kHowToMake = "use fineTune()";
  static Napi::FunctionReference& Constructor(Napi::Env env) { return GetAddonData(env).sessionConstructor; }
  static void Init(Napi::Env env, Napi::Object exports);
  using Handle::Handle;

 private:
  static Napi::Value Create(const Napi::CallbackInfo& info);
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value Evaluate(const Napi::CallbackInfo& info);
  Napi::Value SetLearningRate(const Napi::CallbackInfo& info);
  Napi::Value Distances(const Napi::CallbackInfo& info);
  Napi::Value InitState(const Napi::CallbackInfo& info);
  Napi::Value SaveOptimizer(const Napi::CallbackInfo& info);
  Napi::Value LoadOptimizer(const Napi::CallbackInfo& info);
  Napi::Value RngState(const Napi::CallbackInfo& info);
  Napi::Value SetRngState(const Napi::CallbackInfo& info);
};

}  // namespace mars
