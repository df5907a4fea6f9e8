// TorchScript module handle: load, serialise, forward, parameter listing,
// train/eval, clone, inference copies, device moves. Every call that computes
// runs on the compute thread; a per-module mutex keeps two of them from touching one module at once.
#pragma once

#include <napi.h>
#include <torch/script.h>

#include <memory>
#include <mutex>
#include <optional>

#include "core/addon_data.h"
#include "core/handle.h"

namespace mars {

struct ModuleState {
  explicit ModuleState(torch::jit::Module m) : module(std::move(m)) {}
  torch::jit::Module module;
  std::mutex mutex;
};

// The bytes of a module's parameters and buffers: what a handle owning it keeps alive.
int64_t ModuleBytes(const torch::jit::Module& module);

// A deep copy whose parameters are leaves with the original's requires_grad
// (jit::Module::clone under autograd would make them outputs of a clone op).
torch::jit::Module DeepCopy(const torch::jit::Module& module);

// A copy of `module` for evaluation, frozen and optimised for inference
// (BatchNorm folded into the convolutions, oneDNN layouts), whose classes
// go with it; nullopt when it cannot be frozen (evaluate it as it is).
std::optional<torch::jit::Module> InferenceCopy(const torch::jit::Module& module);

// Inlines every method and function call of the graph, however deep.
// torch::jit::Inline splices in each callee's cached optimised graph, which is
// itself left uninlined when the callee first ran with the executor's
// optimisation off (train/session.cc), so one pass can leave calls behind.
void InlineAll(torch::jit::Graph& graph);

class ModuleWrap : public Handle<ModuleWrap, std::shared_ptr<ModuleState>> {
 public:
  static constexpr const char* kName = "Module";
  static constexpr const char* kHowToMake = "use load()";
  static Napi::FunctionReference& Constructor(Napi::Env env) { return GetAddonData(env).moduleConstructor; }
  static void Init(Napi::Env env, Napi::Object exports);
  using Handle::Handle;

 private:
  static Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value Parameters(const Napi::CallbackInfo& info);
  Napi::Value StateDict(const Napi::CallbackInfo& info);
  Napi::Value SetTraining(const Napi::CallbackInfo& info);
  Napi::Value IsTraining(const Napi::CallbackInfo& info);
  Napi::Value Clone(const Napi::CallbackInfo& info);
  Napi::Value InferenceCopy(const Napi::CallbackInfo& info);
  Napi::Value Serialize(const Napi::CallbackInfo& info);
  Napi::Value NonFinite(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value Submodule(const Napi::CallbackInfo& info);
};

}  // namespace mars
