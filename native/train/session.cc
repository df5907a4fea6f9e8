#include "train/session.h"

#include <torch/nn/functional/loss.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <chrono>
#include <optional>
#include <sstream>

#include "core/addon_data.h"
#include "core/async.h"
#include "core/errors.h"
#include "kernels/projection.h"
#include "bound/norms.h"
#include "train/session_options.h"
#include "core/tensor.h"
#include "distributed/bindings.h"
#include "distributed/data_parallel.h"

namespace mars {
namespace {

std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(const OptimizerSpec& o, std::vector<at::Tensor> params) {
  namespace optim = torch::optim;
  if (o.name == "sgd") {
    return std::make_unique<optim::SGD>(
        params, optim::SGDOptions(o.lr).momentum(o.momentum).nesterov(o.nesterov).weight_decay(o.weightDecay));
  }
  if (o.name == "adam") {
    return std::make_unique<optim::Adam>(params, optim::AdamOptions(o.lr)
                                                     .betas({o.beta1, o.beta2})
                                                     .eps(o.eps)
                                                     .weight_decay(o.weightDecay)
                                                     .amsgrad(o.amsgrad));
  }
  return std::make_unique<optim::AdamW>(params, optim::AdamWOptions(o.lr)
                                                    .betas({o.beta1, o.beta2})
                                                    .eps(o.eps)
                                                    .weight_decay(o.weightDecay)
                                                    .amsgrad(o.amsgrad));
}

at::Tensor Lookup(const std::map<std::string, at::Tensor>& tensors, const std::string& name) {
  const auto it = tensors.find(name);
  if (it == tensors.end()) throw CodedError("ERR_INVALID_ARGUMENT", "the model has no tensor named '" + name + "'");
  return it->second;
}

// The tensor viewed as one row per output unit (a bias is one row per unit of width 1).
at::Tensor Rows(const at::Tensor& t) { return t.dim() <= 1 ? t.reshape({-1, 1}) : t.reshape({t.size(0), -1}); }

at::Tensor PenaltyTerm(const Penalty& p) {
  const at::Tensor diff = p.init.defined() ? p.param - p.init : p.param;
  if (p.norm == PenaltyNorm::L2Squared) return diff.pow(2).sum();
  return Rows(diff).abs().sum(1).max();
}

std::shared_ptr<SessionState> BuildSession(std::shared_ptr<ModuleState> model, SessionSpec spec,
                                           std::shared_ptr<DistributedGroup> group, DataParallelSpec parallel) {
  auto s = std::make_shared<SessionState>();
  s->model = model;
  s->pool = spec.pool;

  std::map<std::string, at::Tensor> live;
  std::vector<at::Tensor> trainable;
  // A linear probe optimises the head alone.
  for (const auto& p : model->module.named_parameters(true)) {
    live[p.name] = p.value;
    const bool frozen = spec.freezeBackbone && p.name.rfind("backbone.", 0) == 0;
    if (p.value.requires_grad() && !frozen) trainable.push_back(p.value);
  }
  for (const auto& b : model->module.named_buffers(true)) live[b.name] = b.value;
  // Every rank starts from rank 0's tensors, before W0 is taken.
  if (group) {
    s->parallel = std::make_shared<DataParallel>(group, parallel, model->module, trainable);
    s->parallel->BroadcastState();
  }
  const torch::jit::Module& net = s->parallel ? s->parallel->trainModule() : model->module;
  s->backbone = net.attr("backbone").toModule();
  s->head = net.attr("head").toModule();
  // W0: the given snapshot (resuming) or a copy of the weights now.
  for (const auto& [name, tensor] : live) {
    const auto given = spec.init.find(name);
    s->init[name] = given != spec.init.end() ? given->second.to(tensor.device(), tensor.scalar_type()).clone()
                                             : tensor.detach().clone();
  }
  auto centre = [&](const std::string& name, bool zero) { return zero ? at::Tensor() : s->init.at(name); };

  for (const auto& c : spec.constraints) {
    Constraint k{c.name, ConstraintType::Mars, c.radius, Lookup(live, c.name), centre(c.name, c.centreZero), {}, {}};
    if (c.type == "frobenius") k.type = ConstraintType::Frobenius;
    if (c.type == "batchnorm") {
      k.type = ConstraintType::BatchNorm;
      const std::string owner = c.name.substr(0, c.name.rfind('.'));
      k.runningVar = Lookup(live, owner + ".running_var");
      k.runningVar0 = s->init.at(owner + ".running_var");
      k.init = s->init.at(c.name);
    }
    s->constraints.push_back(std::move(k));
  }
  for (const auto& p : spec.penalties) {
    s->penalties.push_back({p.name, p.norm == "mars" ? PenaltyNorm::Mars : PenaltyNorm::L2Squared, p.weight,
                            Lookup(live, p.name), centre(p.name, p.centreZero)});
  }
  // Per-channel and per-class weights take the parameters' device and dtype
  // (a float64 model trains in float64 throughout).
  const at::TensorOptions weightOptions = trainable.empty() ? at::TensorOptions() : trainable.front().options();
  if (spec.delta) {
    s->deltaAlpha = spec.delta->alpha;
    // The frozen starting backbone: a copy whose tensors are reset to W0.
    torch::jit::Module frozen = DeepCopy(model->module.attr("backbone").toModule());
    torch::NoGradGuard noGrad;
    for (const auto& p : frozen.named_parameters(true)) p.value.copy_(s->init.at("backbone." + p.name));
    for (const auto& b : frozen.named_buffers(true)) b.value.copy_(s->init.at("backbone." + b.name));
    frozen.eval();
    s->frozenBackbone = frozen;
    s->channelWeights = spec.delta->channelWeights.to(weightOptions);
  }
  if (spec.bss) {
    s->bssEta = spec.bss->eta;
    s->bssK = spec.bss->k;
  }
  s->freezeBackbone = spec.freezeBackbone;
  s->freezeStatistics = spec.freezeStatistics;
  if (spec.classWeights.defined()) {
    s->classWeights = spec.classWeights.to(weightOptions);
  }
  s->optimizer = MakeOptimizer(spec.optimizer, trainable);
  if (spec.precision != "fp32") {
    const bool cuda = !live.empty() && live.begin()->second.is_cuda();
    if (spec.precision == "fp16" && !cuda) {
      throw CodedError("ERR_INVALID_ARGUMENT", "precision 'fp16' needs a CUDA device (with a loss scale); on the CPU use 'bf16'");
    }
    s->autocast = true;
    s->autocastDtype = spec.precision == "bf16" ? at::kBFloat16 : at::kHalf;
  }
  if (spec.gradScaler) {
    const ScalerSpec& g = *spec.gradScaler;
    s->scaler = {true, g.initScale, g.growthFactor, g.backoffFactor, g.growthInterval, 0};
  }
  s->rng = RunGenerator(spec.seed, live.empty() ? c10::Device(c10::kCPU) : live.begin()->second.device());
  return s;
}

struct StepResult {
  double loss = 0, penalty = 0;
  int64_t correct = 0, count = 0;
  double lossScale = 0;  // the loss scale this step used (0: no loss scaling)
  bool skipped = false;  // the scaled gradients overflowed: no optimiser step
  double projectionSeconds = 0;  // of the step's time, the projection's (measured here, so its share is of one run)
};

std::vector<at::Tensor> TrainableParameters(const SessionState& s) {
  std::vector<at::Tensor> out;
  for (const auto& group : s.optimizer->param_groups()) out.insert(out.end(), group.params().begin(), group.params().end());
  return out;
}

// The penalty of the regulariser for one batch (zero for pure constraints).
at::Tensor BatchPenalty(SessionState& s, const at::Tensor& x, const at::Tensor& maps, const at::Tensor& features) {
  at::Tensor penalty = at::zeros({}, x.options());
  for (const auto& p : s.penalties) penalty = penalty + p.weight * PenaltyTerm(p);
  if (s.frozenBackbone) {
    at::Tensor maps0;
    {
      torch::NoGradGuard noGrad;
      maps0 = s.frozenBackbone->forward({x}).toTensor();
    }
    std::vector<int64_t> shape(maps.dim(), 1);
    shape[1] = maps.size(1);
    const at::Tensor w = s.channelWeights.view(shape);
    penalty = penalty + s.deltaAlpha * (w * (maps - maps0).pow(2)).mean();
  }
  if (s.bssK > 0 && s.bssEta > 0) {
    // At least fp32, whatever autocast made of the features: the SVD has no half-precision kernels.
    const at::Tensor sv = at::linalg_svdvals(features.to(at::promote_types(features.scalar_type(), at::kFloat)));  // descending
    const int64_t k = std::min<int64_t>(s.bssK, sv.size(0));
    penalty = penalty + s.bssEta * sv.slice(0, sv.size(0) - k).pow(2).sum();
  }
  return penalty;
}

// The constraint methods' map back into the balls after a step. MARS rows go
// through one batched call (one parallel region on CPU, few launches on CUDA);
// statistics are not collected, so nothing synchronises with the device.
void Project(SessionState& s) {
  torch::NoGradGuard noGrad;
  const ProjectionOptions quiet{RowMap::kRescale, /*collectStats=*/false};
  std::vector<MarsTask> mars;
  for (auto& c : s.constraints) {
    const at::Tensor w = c.param.detach();
    const at::Tensor* w0 = c.init.defined() ? &c.init : nullptr;
    switch (c.type) {
      case ConstraintType::Mars: mars.push_back({w, c.init, c.radius}); break;
      case ConstraintType::Frobenius: ProjectFrobenius(w, w0, c.radius, quiet); break;
      case ConstraintType::BatchNorm: ClipBatchNormScale(w, c.runningVar, c.init, c.runningVar0, c.radius, 1e-6, quiet); break;
    }
  }
  if (!mars.empty()) ProjectMarsRowsMany(mars, quiet);
}

// The buffers (BatchNorm running statistics) as they were before a step's
// forward pass updated them, one flat copy per dtype: a step whose loss or
// statistics are not finite puts them back, so that the state the run stops
// in, and any checkpoint written from it, is the last good one.
class BufferSnapshot {
 public:
  explicit BufferSnapshot(const torch::jit::Module& module) {
    torch::NoGradGuard noGrad;
    for (const auto& b : module.named_buffers(true)) groups_[b.value.scalar_type()].push_back({b.name, b.value});
    for (auto& [dtype, group] : groups_) {
      std::vector<at::Tensor> flat;
      for (const auto& [name, t] : group) flat.push_back(t.reshape({-1}));
      copies_[dtype] = at::cat(flat);
    }
  }

  // The first floating buffer that is not finite now, or "".
  std::string NonFinite() const {
    torch::NoGradGuard noGrad;
    at::Tensor finite;
    for (const auto& [dtype, group] : groups_) {
      if (!at::isFloatingType(dtype)) continue;
      std::vector<at::Tensor> flat;
      for (const auto& [name, t] : group) flat.push_back(t.reshape({-1}));
      const at::Tensor ok = at::isfinite(at::cat(flat)).all();
      finite = finite.defined() ? finite.logical_and(ok) : ok;
    }
    if (!finite.defined() || finite.item<bool>()) return "";
    for (const auto& [dtype, group] : groups_) {
      if (!at::isFloatingType(dtype)) continue;
      for (const auto& [name, t] : group) if (!at::isfinite(t).all().item<bool>()) return name;
    }
    return "";
  }

  void Restore() const {
    torch::NoGradGuard noGrad;
    for (const auto& [dtype, group] : groups_) {
      int64_t at = 0;
      const at::Tensor& copy = copies_.at(dtype);
      for (const auto& [name, t] : group) {
        t.copy_(copy.slice(0, at, at + t.numel()).view(t.sizes()));
        at += t.numel();
      }
    }
  }

 private:
  std::map<at::ScalarType, std::vector<std::pair<std::string, at::Tensor>>> groups_;
  std::map<at::ScalarType, at::Tensor> copies_;
};

// One step; the caller holds the model's lock and has installed the run's random streams.
StepResult StepLocked(SessionState& s, const at::Tensor& xIn, const at::Tensor& yIn) {
  const auto device = s.init.begin()->second.device();
  const at::Tensor x = xIn.to(device), y = yIn.to(device, at::kLong);
  torch::AutoGradMode grad(true);
  torch::jit::Module& net = s.parallel ? s.parallel->trainModule() : s.model->module;
  net.train(true);
  // A linear probe keeps the backbone in eval mode (BatchNorm statistics fixed) and records no gradients in it;
  // frozen statistics keep it in eval mode only.
  if (s.freezeBackbone || s.freezeStatistics) s.backbone.train(false);
  s.optimizer->zero_grad();
  const std::shared_ptr<void> parallelStep = s.parallel ? s.parallel->BeforeForward() : nullptr;
  const BufferSnapshot before(net);
  // DELTA and BSS need the backbone's maps and features, a linear probe runs
  // the backbone without gradients; the others run the classifier's own
  // forward as one TorchScript call, as Python would.
  at::Tensor maps, features, logits, ce, total;
  {
    // Mixed precision covers forward and loss, as torch.autocast does; backward follows the recorded casts.
    AutocastScope autocast(s.autocast, device.type(), s.autocastDtype);
    if (s.frozenBackbone || s.bssK > 0 || s.freezeBackbone) {
      {
        std::optional<torch::NoGradGuard> noGrad;
        if (s.freezeBackbone) noGrad.emplace();
        maps = s.backbone.forward({x}).toTensor();
      }
      features = s.pool ? maps.mean({2, 3}) : maps;
      logits = s.head.forward({features}).toTensor();
    } else {
      logits = net.forward({x}).toTensor();
    }
    // Class weights as PyTorch's F.cross_entropy(weight=w): the weighted mean, divided by the batch's summed weights.
    ce = torch::nn::functional::cross_entropy(logits, y, torch::nn::functional::CrossEntropyFuncOptions().weight(s.classWeights));
    total = s.penalties.empty() && !maps.defined() ? ce : ce + BatchPenalty(s, x, maps, features);
  }
  const double totalValue = total.item<double>();
  const std::string badBuffer = before.NonFinite();
  const bool finite = std::isfinite(totalValue) && badBuffer.empty();
  const std::string advice = "; the step was undone: lower the learning rate or check the data for NaN/Inf";
  // One rank alone must not stop: the others would wait for its gradients.
  if (!finite && !s.parallel) {
    before.Restore();
    const std::string what = std::isfinite(totalValue) ? "the running statistic " + badBuffer + " became non-finite"
                                                       : "the loss became " + std::to_string(totalValue);
    throw CodedError("ERR_NONFINITE_LOSS", what + advice);
  }
  // Data-parallel: gradients averaged over the ranks before the optimiser (or the loss scale) sees them.
  const auto reduceBackward = [&](const at::Tensor& loss) {
    loss.backward();
    if (!s.parallel) return;
    const int ranks = s.parallel->AfterBackward(finite);
    if (ranks == 0) return;
    before.Restore();
    throw CodedError("ERR_NONFINITE_LOSS", "the loss or a running statistic became NaN or infinite on " + std::to_string(ranks) + " rank(s)" + advice);
  };
  StepResult r;
  if (s.scaler.enabled) {
    // GradScaler's step: backward on the scaled loss, unscale, skip the step on overflow, adapt the scale.
    r.lossScale = s.scaler.scale;
    reduceBackward(total * s.scaler.scale);
    r.skipped = s.scaler.UnscaleAndCheck(TrainableParameters(s));
    if (!r.skipped) s.optimizer->step();
    s.scaler.Update(r.skipped);
  } else {
    reduceBackward(total);
    s.optimizer->step();
  }
  // The projection acts on the fp32 parameters; after a skipped step they have not moved.
  const auto projectionStart = std::chrono::steady_clock::now();
  if (!r.skipped) Project(s);
  r.projectionSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - projectionStart).count();
  if (s.parallel) s.parallel->AfterStep();
  r.loss = ce.item<double>();
  r.penalty = (total - ce).item<double>();
  r.correct = logits.argmax(1).eq(y).sum().item<int64_t>();
  r.count = y.size(0);
  return r;
}

// CPU in fp32: where steps skip the graph executor's optimisation and
// evaluations run the inference copy. The executor fuses nothing on the CPU
// (LibTorch's CPU fuser is off by default) and its first runs of each graph
// only profile; the graph runs as it is, as eager PyTorch's would, 4-8%
// faster over a whole job (docs/performance.md). On CUDA it may fuse, and
// under autocast its pass decides the casts PyTorch's own TorchScript steps
// make, so there it stays on.
bool CpuFp32(const SessionState& s, const c10::Device& device) { return device.is_cpu() && !s.autocast; }

StepResult TrainStep(SessionState& s, const at::Tensor& xIn, const at::Tensor& yIn) {
  std::lock_guard<std::mutex> lock(s.model->mutex);
  s.inference.reset();
  s.evaluationsSinceStep = 0;
  const torch::jit::GraphOptimizerEnabledGuard executor(!CpuFp32(s, s.init.begin()->second.device()));
  return s.rng.Run([&] { return StepLocked(s, xIn, yIn); });
}

// The module an evaluation runs: the inference copy where it applies (see SessionState::inference).
torch::jit::Module& EvaluationModule(SessionState& s, const c10::Device& device) {
  const bool applies = CpuFp32(s, device) && !s.inferenceUnsupported;
  if (applies && !s.inference && ++s.evaluationsSinceStep >= 2) {
    s.inference = InferenceCopy(s.model->module);
    s.inferenceUnsupported = !s.inference;
  }
  return s.inference ? *s.inference : s.model->module;
}

StepResult EvalStep(SessionState& s, const at::Tensor& xIn, const at::Tensor& yIn) {
  std::lock_guard<std::mutex> lock(s.model->mutex);
  const auto device = s.init.begin()->second.device();
  const at::Tensor x = xIn.to(device), y = yIn.to(device, at::kLong);
  torch::NoGradGuard noGrad;
  const torch::jit::GraphOptimizerEnabledGuard executor(!CpuFp32(s, device));
  s.model->module.train(false);
  StepResult r;
  at::Tensor logits;
  {
    AutocastScope autocast(s.autocast, device.type(), s.autocastDtype);
    logits = EvaluationModule(s, device).forward({x}).toTensor();
    r.loss = torch::nn::functional::cross_entropy(
                 logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                 .item<double>();
  }
  r.correct = logits.argmax(1).eq(y).sum().item<int64_t>();
  r.count = y.size(0);
  return r;
}

Napi::Value StepToJs(Napi::Env env, StepResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("loss", r.loss);
  o.Set("penalty", r.penalty);
  o.Set("correct", static_cast<double>(r.correct));
  o.Set("count", static_cast<double>(r.count));
  if (r.lossScale > 0) {
    o.Set("lossScale", r.lossScale);
    o.Set("skipped", r.skipped);
  }
  o.Set("projectionSeconds", r.projectionSeconds);
  return o;
}

}  // namespace

void SessionWrap::Init(Napi::Env env, Napi::Object exports) {
  Register(env, exports,
           {
                                        InstanceMethod<&SessionWrap::Step>("step"),
                                        InstanceMethod<&SessionWrap::Evaluate>("evaluate"),
                                        InstanceMethod<&SessionWrap::SetLearningRate>("setLearningRate"),
                                        InstanceMethod<&SessionWrap::Distances>("distances"),
                                        InstanceMethod<&SessionWrap::InitState>("initState"),
                                        InstanceMethod<&SessionWrap::SaveOptimizer>("saveOptimizer"),
                                        InstanceMethod<&SessionWrap::LoadOptimizer>("loadOptimizer"),
                                        InstanceMethod<&SessionWrap::RngState>("rngState"),
                                        InstanceMethod<&SessionWrap::SetRngState>("setRngState"),
           });
  exports.Set("createSession", Napi::Function::New(env, &SessionWrap::Create, "createSession"));
}

// createSession(classifier, options, init?, processGroup?, { syncBatchNorm, checkEvery }?) -> Promise<Session>
Napi::Value SessionWrap::Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "createSession", [&]() -> Napi::Value {
    auto model = ModuleWrap::FromJs(info[0], "model");
    SessionSpec spec = ReadSessionSpec(info[1], info[2]);
    std::shared_ptr<DistributedGroup> group;
    DataParallelSpec parallel;
    if (!info[3].IsUndefined()) {
      group = ProcessGroupWrap::FromJs(info[3], "processGroup");
      parallel = ReadParallelSpec(info[4]);
    }
    return RunAsync<std::shared_ptr<SessionState>>(
        env, "ERR_TORCH", "cannot start the session",
        [model, spec, group, parallel]() {
          std::lock_guard<std::mutex> lock(model->mutex);
          return BuildSession(model, spec, group, parallel);
        },
        [](Napi::Env env, std::shared_ptr<SessionState>& s) -> Napi::Value {
          // The session owns W0 (a copy of every parameter and buffer); the optimiser's state grows as it steps.
          int64_t bytes = 0;
          for (const auto& [name, t] : s->init) bytes += TensorBytes(t);
          return Wrap(env, s, bytes);
        });
  });
}

// step(x, y) -> Promise<{ loss, penalty, correct, count }>
Napi::Value SessionWrap::Step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "step", [&]() -> Napi::Value {
    const at::Tensor x = TensorWrap::FromJs(info[0], "inputs"), y = TensorWrap::FromJs(info[1], "labels");
    auto s = Get(info);
    return RunAsync<StepResult>(
        env, "ERR_TRAINING", "training step failed", [s, x, y]() { return TrainStep(*s, x, y); }, StepToJs);
  });
}

// evaluate(x, y) -> Promise<{ loss (summed), correct, count }>
Napi::Value SessionWrap::Evaluate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "evaluate", [&]() -> Napi::Value {
    const at::Tensor x = TensorWrap::FromJs(info[0], "inputs"), y = TensorWrap::FromJs(info[1], "labels");
    auto s = Get(info);
    return RunAsync<StepResult>(
        env, "ERR_FORWARD", "evaluation failed", [s, x, y]() { return EvalStep(*s, x, y); }, StepToJs);
  });
}

Napi::Value SessionWrap::SetLearningRate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "setLearningRate", [&]() -> Napi::Value {
    Require(info.Length() > 0 && info[0].IsNumber(), "learning rate must be a number");
    const double lr = info[0].As<Napi::Number>().DoubleValue();
    Require(std::isfinite(lr) && lr >= 0, "learning rate must be a non-negative finite number");
    std::lock_guard<std::mutex> lock(Get(info)->model->mutex);
    for (auto& group : Get(info)->optimizer->param_groups()) group.options().set_lr(lr);
    return env.Undefined();
  });
}

// distances() -> [{ name, mars, frobenius, radius? }]: for every weight
// matrix or kernel (parameters of two or more dimensions), the largest row l1
// distance from its centre (W0; zero for the new head) and the Frobenius
// distance, whatever the method: the per-layer summary logged each epoch.
Napi::Value SessionWrap::Distances(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_TORCH", "distances", [&]() -> Napi::Value {
    std::lock_guard<std::mutex> lock(Get(info)->model->mutex);
    torch::NoGradGuard noGrad;
    std::map<std::string, double> radius;
    for (const auto& c : Get(info)->constraints) radius[c.name] = c.radius;
    Napi::Array out = Napi::Array::New(env);
    for (const auto& p : Get(info)->model->module.named_parameters(true)) {
      if (p.value.dim() < 2) continue;
      const bool head = p.name.rfind("head.", 0) == 0;
      const RowNorms rows = MeasureRows(p.value, c10::nullopt,
                                        head ? c10::optional<at::Tensor>() : Get(info)->init.at(p.name), c10::nullopt);
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", p.name);
      o.Set("mars", rows.distance.max().item<double>());
      o.Set("frobenius", rows.frobeniusDistance);
      const auto r = radius.find(p.name);
      if (r != radius.end()) o.Set("radius", r->second);
      out.Set(out.Length(), o);
    }
    return out;
  });
}

// initState() -> { name: Tensor }: W0, to be stored in checkpoints for resuming.
Napi::Value SessionWrap::InitState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  for (const auto& [name, t] : Get(info)->init) out.Set(name, TensorWrap::Wrap(env, t));
  return out;
}

// saveOptimizer() -> Buffer: the optimiser's state (moments, step counts).
Napi::Value SessionWrap::SaveOptimizer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_TORCH", "saveOptimizer", [&]() -> Napi::Value {
    std::lock_guard<std::mutex> lock(Get(info)->model->mutex);
    std::ostringstream stream;
    torch::serialize::OutputArchive archive;
    Get(info)->optimizer->save(archive);
    // The loss scale and its growth count belong to the optimiser's state: resuming continues them exactly.
    const LossScaler& scaler = Get(info)->scaler;
    if (scaler.enabled) {
      archive.write("mars_loss_scale", at::tensor({scaler.scale}, at::kDouble));
      archive.write("mars_loss_scale_growth_tracker", at::tensor({scaler.growthTracker}, at::kLong));
    }
    archive.save_to(stream);
    const std::string bytes = stream.str();
    return Napi::Buffer<char>::Copy(env, bytes.data(), bytes.size());
  });
}

Napi::Value SessionWrap::LoadOptimizer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "loadOptimizer", [&]() -> Napi::Value {
    Require(info.Length() > 0 && info[0].IsBuffer(), "optimizer state must be a Buffer");
    const auto buffer = info[0].As<Napi::Buffer<char>>();
    std::istringstream stream(std::string(buffer.Data(), buffer.Length()));
    std::lock_guard<std::mutex> lock(Get(info)->model->mutex);
    torch::serialize::InputArchive archive;
    archive.load_from(stream);
    Get(info)->optimizer->load(archive);
    LossScaler& scaler = Get(info)->scaler;
    at::Tensor scale, tracker;
    if (scaler.enabled && archive.try_read("mars_loss_scale", scale) &&
        archive.try_read("mars_loss_scale_growth_tracker", tracker)) {
      scaler.scale = scale.item<double>();
      scaler.growthTracker = tracker.item<int64_t>();
    }
    return env.Undefined();
  });
}

// rngState() -> Buffer: the run's random streams, for checkpoints (exact resume).
Napi::Value SessionWrap::RngState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_TORCH", "rngState", [&]() -> Napi::Value {
    std::lock_guard<std::mutex> lock(Get(info)->model->mutex);
    const std::string bytes = Get(info)->rng.State();
    return Napi::Buffer<char>::Copy(env, bytes.data(), bytes.size());
  });
}

Napi::Value SessionWrap::SetRngState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "setRngState", [&]() -> Napi::Value {
    Require(info.Length() > 0 && info[0].IsBuffer(), "the random state must be a Buffer");
    const auto buffer = info[0].As<Napi::Buffer<char>>();
    std::lock_guard<std::mutex> lock(Get(info)->model->mutex);
    Get(info)->rng.SetState(std::string(buffer.Data(), buffer.Length()));
    return env.Undefined();
  });
}

}  // namespace mars
