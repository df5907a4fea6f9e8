#include "core/module.h"

#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <map>
#include <sstream>
#include <ostream>
#include <streambuf>
#include <vector>

#include "core/addon_data.h"
#include "core/async.h"
#include "core/convert.h"
#include "core/errors.h"
#include "core/tensor.h"

namespace mars {

int64_t ModuleBytes(const torch::jit::Module& module) {
  int64_t bytes = 0;
  for (const auto& p : module.parameters(true)) bytes += TensorBytes(p);
  for (const auto& b : module.buffers(true)) bytes += TensorBytes(b);
  return bytes;
}

namespace {

using ExtraFiles = std::unordered_map<std::string, std::string>;

// The layer kind the regularisers and the bound care about, from the class
// name of the submodule that owns a tensor (Conv2d, Linear, BatchNorm2d...).
std::string LayerKind(const std::string& typeName) {
  if (typeName.rfind("Conv", 0) == 0) return "conv";
  if (typeName == "Linear" || typeName == "LazyLinear") return "linear";
  if (typeName.find("BatchNorm") != std::string::npos) return "batchnorm";
  return "other";
}

std::string TypeName(const torch::jit::Module& m) {
  const auto name = m.type()->name();
  return name ? name->name() : "";
}

std::string OwnerPath(const std::string& tensorName) {
  const auto dot = tensorName.rfind('.');
  return dot == std::string::npos ? "" : tensorName.substr(0, dot);
}

struct ForwardOutput {
  bool single = true;
  std::vector<at::Tensor> tensors;
};

ForwardOutput ToOutput(const c10::IValue& value) {
  ForwardOutput out;
  if (value.isTensor()) {
    out.tensors.push_back(value.toTensor());
    return out;
  }
  out.single = false;
  std::vector<c10::IValue> items;
  if (value.isTuple()) {
    items = value.toTupleRef().elements().vec();
  } else if (value.isList()) {
    items = value.toListRef().vec();
  } else {
    throw CodedError("ERR_UNSUPPORTED_OUTPUT", "forward returned a " + value.tagKind() +
                                                   "; only a tensor or a tuple/list of tensors can be returned to JS");
  }
  for (const auto& item : items) {
    if (!item.isTensor()) {
      throw CodedError("ERR_UNSUPPORTED_OUTPUT", "forward returned a sequence holding a " + item.tagKind() +
                                                     "; only tensors can be returned to JS");
    }
    out.tensors.push_back(item.toTensor());
  }
  return out;
}

ExtraFiles ExtraFilesFromJs(const Napi::Value& value) {
  ExtraFiles files;
  if (value.IsUndefined() || value.IsNull()) return files;
  Require(value.IsObject(), "extraFiles must be an object of file name to string content");
  const auto object = value.As<Napi::Object>();
  const Napi::Array names = object.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    const Napi::Value content = object.Get(name);
    Require(content.IsString(), "extraFiles['" + name + "'] must be a string");
    files[name] = content.As<Napi::String>().Utf8Value();
  }
  return files;
}

// A stream buffer that appends to a string: the archive is built once in
// memory, without ostringstream's extra copy.
struct StringSink : std::streambuf {
  std::string bytes;
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) bytes.push_back(static_cast<char>(c));
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    bytes.append(s, static_cast<size_t>(n));
    return n;
  }
};

}  // namespace

torch::jit::Module DeepCopy(const torch::jit::Module& module) {
  std::map<std::string, bool> requiresGrad;
  for (const auto& p : module.named_parameters(true)) requiresGrad[p.name] = p.value.requires_grad();
  // deepcopy(), not clone(): clone() gives the copy new class types and
  // methods, registered for good in the original's compilation unit, which
  // then grows by the code of the whole network at every copy (250 KB for a
  // small ResNet; 50 fineTune runs of one loaded backbone grew RSS by 280 MB).
  // The copy shares the types, which a copy that only gets other values needs.
  torch::jit::Module copy = [&] {
    torch::NoGradGuard noGrad;
    return module.deepcopy();
  }();
  for (const auto& p : copy.named_parameters(true)) p.value.requires_grad_(requiresGrad[p.name]);
  return copy;
}

std::optional<torch::jit::Module> InferenceCopy(const torch::jit::Module& module) {
  try {
    // A copy through an archive: its classes live in a compilation unit of
    // its own, which goes with it. freeze() gives the frozen copy new classes
    // in the unit of the module it freezes, and for good: frozen in place,
    // a network loaded once and evaluated after every epoch, or a classifier
    // that classifies again and again, grew by its whole code each time.
    // Made as Python would make it: with autograd on and the graph executor's
    // optimisation on. Made under a session's no-grad guard, each copy left
    // 0.9 MB behind (8-item batches of a small ResNet), for good.
    const at::AutoGradMode grad(true);
    const torch::jit::GraphOptimizerEnabledGuard optimise(true);
    std::stringstream archive;
    module.save(archive);
    const auto device = module.parameters().size() ? (*module.parameters().begin()).device() : c10::Device(c10::kCPU);
    torch::jit::Module own = torch::jit::load(archive, device);
    own.eval();
    // Frozen first, explicitly: optimize_for_inference freezes only modules whose type has a
    // `training` attribute (the composed classifier's does not) and would otherwise rewrite
    // the module's own graph.
    torch::jit::Module frozen = torch::jit::freeze(own);
    return torch::jit::optimize_for_inference(frozen);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

namespace {

int CountCalls(const torch::jit::Block* block) {
  int n = 0;
  for (const torch::jit::Node* node : block->nodes()) {
    if (node->kind() == c10::prim::CallMethod || node->kind() == c10::prim::CallFunction) n++;
    for (const torch::jit::Block* inner : node->blocks()) n += CountCalls(inner);
  }
  return n;
}

}  // namespace

void InlineAll(torch::jit::Graph& graph) {
  // Each pass inlines one level more; calls that cannot be inlined (builtins
  // with no graph) stay, so the passes are capped far above any real nesting.
  for (int pass = 0; pass < 64 && CountCalls(graph.block()) > 0; pass++) torch::jit::Inline(graph);
}

void ModuleWrap::Init(Napi::Env env, Napi::Object exports) {
  Register(env, exports,
           {
                                        InstanceMethod<&ModuleWrap::Forward>("forward"),
                                        InstanceMethod<&ModuleWrap::Parameters>("parameters"),
                                        InstanceMethod<&ModuleWrap::StateDict>("stateDict"),
                                        InstanceMethod<&ModuleWrap::SetTraining>("setTraining"),
                                        InstanceMethod<&ModuleWrap::IsTraining>("isTraining"),
                                        InstanceMethod<&ModuleWrap::Clone>("clone"),
                                        InstanceMethod<&ModuleWrap::InferenceCopy>("inferenceCopy"),
                                        InstanceMethod<&ModuleWrap::Serialize>("serialize"),
                                        InstanceMethod<&ModuleWrap::NonFinite>("nonFinite"),
                                        InstanceMethod<&ModuleWrap::To>("to"),
                                        InstanceMethod<&ModuleWrap::Submodule>("submodule"),
           });
  exports.Set("loadModule", Napi::Function::New(env, &ModuleWrap::Load, "loadModule"));
}

// loadModule(path, device, extraFileNames[]) -> Promise<{ module, extraFiles }>
Napi::Value ModuleWrap::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "load", [&]() -> Napi::Value {
    const std::string path = StringArg(info, 0, "path");
    const c10::Device device = ParseDevice(StringArg(info, 1, "device"));
    ExtraFiles wanted;
    if (info.Length() > 2 && info[2].IsArray()) {
      const auto names = info[2].As<Napi::Array>();
      for (uint32_t i = 0; i < names.Length(); ++i) wanted[names.Get(i).ToString().Utf8Value()] = "";
    }
    struct Loaded {
      std::shared_ptr<ModuleState> state;
      ExtraFiles extra;
    };
    return RunAsync<Loaded>(
        env, "ERR_TORCHSCRIPT_LOAD", "cannot load TorchScript file '" + path + "'",
        [path, device, wanted]() mutable {
          try {
            auto module = torch::jit::load(path, device, wanted);
            return Loaded{std::make_shared<ModuleState>(std::move(module)), wanted};
          } catch (...) {
            // Whatever LibTorch says while reading a file (even "size mismatch") is a load failure.
            RethrowAs("ERR_TORCHSCRIPT_LOAD");
          }
        },
        [](Napi::Env env, Loaded& loaded) -> Napi::Value {
          Napi::Object result = Napi::Object::New(env);
          result.Set("module", Wrap(env, loaded.state, ModuleBytes(loaded.state->module)));
          Napi::Object extra = Napi::Object::New(env);
          for (const auto& [name, content] : loaded.extra) {
            if (!content.empty()) extra.Set(name, Napi::String::New(env, content));
          }
          result.Set("extraFiles", extra);
          return result;
        });
  });
}

// forward(tensors[]) -> Promise<Tensor | Tensor[]>, without recording gradients.
Napi::Value ModuleWrap::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "forward", [&]() -> Napi::Value {
    Require(info.Length() > 0 && info[0].IsArray(), "forward takes an array of tensors");
    const auto array = info[0].As<Napi::Array>();
    std::vector<c10::IValue> inputs;
    for (uint32_t i = 0; i < array.Length(); ++i) {
      inputs.emplace_back(TensorWrap::FromJs(array.Get(i), "input " + std::to_string(i)));
    }
    auto state = Get(info);
    return RunAsync<ForwardOutput>(
        env, "ERR_FORWARD", "forward failed",
        [state, inputs]() mutable {
          std::lock_guard<std::mutex> lock(state->mutex);
          torch::NoGradGuard noGrad;
          return ToOutput(state->module.forward(inputs));
        },
        [](Napi::Env env, ForwardOutput& out) -> Napi::Value {
          if (out.single) return TensorWrap::Wrap(env, out.tensors.front(), TensorBytes(out.tensors.front()));
          Napi::Array result = Napi::Array::New(env, out.tensors.size());
          for (size_t i = 0; i < out.tensors.size(); ++i) {
            result.Set(uint32_t(i), TensorWrap::Wrap(env, out.tensors[i], TensorBytes(out.tensors[i])));
          }
          return result;
        });
  });
}

// parameters() -> [{ name, shape, dtype, kind, moduleType, requiresGrad, isBuffer }]
// in module order. Reads metadata only, which training never changes.
Napi::Value ModuleWrap::Parameters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_TORCH", "parameters", [&]() -> Napi::Value {
    std::map<std::string, std::string> typeOf;
    for (const auto& sub : Get(info)->module.named_modules()) typeOf[sub.name] = TypeName(sub.value);
    Napi::Array result = Napi::Array::New(env);
    auto add = [&](const std::string& name, const at::Tensor& t, bool isBuffer) {
      const std::string& type = typeOf[OwnerPath(name)];
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("name", name);
      entry.Set("shape", ShapeToJs(env, t.sizes()));
      entry.Set("dtype", DtypeName(t.scalar_type()));
      entry.Set("kind", LayerKind(type));
      entry.Set("moduleType", type);
      entry.Set("requiresGrad", t.requires_grad());
      entry.Set("device", DeviceName(t.device()));
      entry.Set("isBuffer", isBuffer);
      result.Set(result.Length(), entry);
    };
    for (const auto& p : Get(info)->module.named_parameters(true)) add(p.name, p.value, false);
    for (const auto& b : Get(info)->module.named_buffers(true)) add(b.name, b.value, true);
    return result;
  });
}

// stateDict() -> { name: Tensor } for parameters and buffers, sharing memory.
Napi::Value ModuleWrap::StateDict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_TORCH", "stateDict", [&]() -> Napi::Value {
    Napi::Object result = Napi::Object::New(env);
    for (const auto& p : Get(info)->module.named_parameters(true)) result.Set(p.name, TensorWrap::Wrap(env, p.value.detach()));
    for (const auto& b : Get(info)->module.named_buffers(true)) result.Set(b.name, TensorWrap::Wrap(env, b.value.detach()));
    return result;
  });
}

Napi::Value ModuleWrap::SetTraining(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "train", [&]() -> Napi::Value {
    Require(info.Length() > 0 && info[0].IsBoolean(), "setTraining takes a boolean");
    std::lock_guard<std::mutex> lock(Get(info)->mutex);
    Get(info)->module.train(info[0].As<Napi::Boolean>().Value());
    return env.Undefined();
  });
}

Napi::Value ModuleWrap::IsTraining(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Get(info)->module.is_training());
}

// inferenceCopy() -> Promise<Module | null>: a copy frozen and optimised for
// inference (InferenceCopy), on the CPU; null elsewhere, or for a module that
// cannot be frozen (run it as it is).
Napi::Value ModuleWrap::InferenceCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto state = Get(info);
  return RunAsync<std::shared_ptr<ModuleState>>(
      env, "ERR_TORCH", "inferenceCopy failed",
      [state]() -> std::shared_ptr<ModuleState> {
        std::lock_guard<std::mutex> lock(state->mutex);
        for (const auto& p : state->module.parameters()) {
          if (!p.device().is_cpu()) return nullptr;
        }
        auto copy = mars::InferenceCopy(state->module);
        return copy ? std::make_shared<ModuleState>(std::move(*copy)) : nullptr;
      },
      [](Napi::Env env, std::shared_ptr<ModuleState>& copy) -> Napi::Value {
        return copy ? Wrap(env, copy, ModuleBytes(copy->module)) : env.Null();
      });
}

// clone() -> Promise<Module>: a deep copy with its own parameters.
Napi::Value ModuleWrap::Clone(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto state = Get(info);
  return RunAsync<std::shared_ptr<ModuleState>>(
      env, "ERR_TORCH", "clone failed",
      [state]() {
        std::lock_guard<std::mutex> lock(state->mutex);
        return std::make_shared<ModuleState>(DeepCopy(state->module));
      },
      [](Napi::Env env, std::shared_ptr<ModuleState>& copy) -> Napi::Value { return Wrap(env, copy, ModuleBytes(copy->module)); });
}

// serialize(extraFiles?) -> Promise<Buffer>: the TorchScript archive, built
// in memory. LibTorch's file writer cannot fail cleanly (after a write error
// its destructor writes again and throws, which aborts the process), so the
// archive goes to a memory stream, which cannot fail, and TypeScript writes
// the bytes with checked I/O (lib/util/atomic-write.ts).
Napi::Value ModuleWrap::Serialize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "serialize", [&]() -> Napi::Value {
    ExtraFiles extra = ExtraFilesFromJs(info.Length() > 0 ? info[0] : env.Undefined());
    auto state = Get(info);
    return RunAsync<std::shared_ptr<std::string>>(
        env, "ERR_TORCHSCRIPT_SAVE", "cannot serialise the module",
        [state, extra]() {
          std::lock_guard<std::mutex> lock(state->mutex);
          StringSink sink;
          std::ostream stream(&sink);
          state->module.save(stream, extra);
          return std::make_shared<std::string>(std::move(sink.bytes));
        },
        [](Napi::Env env, std::shared_ptr<std::string>& bytes) -> Napi::Value {
          // The Buffer owns the string (no copy where external buffers are allowed).
          auto* owned = new std::string(std::move(*bytes));
          return Napi::Buffer<char>::NewOrCopy(env, owned->data(), owned->size(),
                                               [owned](Napi::Env, char*) { delete owned; });
        });
  });
}

// nonFinite() -> Promise<string | null>: the name of the first parameter or
// buffer holding NaN or an infinity, or null: checkpoints are never written
// from a state that is not finite.
Napi::Value ModuleWrap::NonFinite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto state = Get(info);
  return RunAsync<std::string>(
      env, "ERR_TORCH", "cannot check the module's tensors",
      [state]() -> std::string {
        std::lock_guard<std::mutex> lock(state->mutex);
        torch::NoGradGuard noGrad;
        auto finite = [](const at::Tensor& t) { return !t.is_floating_point() || at::isfinite(t).all().item<bool>(); };
        for (const auto& p : state->module.named_parameters(true)) if (!finite(p.value)) return p.name;
        for (const auto& b : state->module.named_buffers(true)) if (!finite(b.value)) return b.name;
        return "";
      },
      [](Napi::Env env, std::string& name) -> Napi::Value {
        return name.empty() ? env.Null() : Napi::String::New(env, name);
      });
}

// to(device) -> Promise<void>: moves parameters and buffers in place.
Napi::Value ModuleWrap::To(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "to", [&]() -> Napi::Value {
    const c10::Device device = ParseDevice(StringArg(info, 0, "device"));
    auto state = Get(info);
    return RunAsync<bool>(
        env, "ERR_DEVICE", "cannot move the module",
        [state, device]() {
          std::lock_guard<std::mutex> lock(state->mutex);
          state->module.to(device);
          return true;
        },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
  });
}

}  // namespace mars

namespace mars {

// submodule(name) -> Module: a child module by attribute name, sharing its
// tensors with the parent (saving it saves the child alone).
Napi::Value ModuleWrap::Submodule(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "submodule", [&]() -> Napi::Value {
    const std::string name = StringArg(info, 0, "name");
    std::lock_guard<std::mutex> lock(Get(info)->mutex);
    if (!Get(info)->module.hasattr(name) || !Get(info)->module.attr(name).isModule()) {
      throw CodedError("ERR_INVALID_ARGUMENT", "the module has no submodule named '" + name + "'");
    }
    return Wrap(env, std::make_shared<ModuleState>(Get(info)->module.attr(name).toModule()));
  });
}

}  // namespace mars
