// Tensor handle: a JS object owning one at::Tensor (a refcounted view, so
// sharing it with LibTorch costs nothing).
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include "core/addon_data.h"
#include "core/handle.h"

namespace mars {

// The bytes a tensor's storage holds: what a handle owning it keeps alive.
inline int64_t TensorBytes(const at::Tensor& t) {
  return t.defined() && t.has_storage() ? static_cast<int64_t>(t.storage().nbytes()) : 0;
}

class TensorWrap : public Handle<TensorWrap, at::Tensor> {
 public:
  static constexpr const char* kName = "Tensor";
  static constexpr const char* kHowToMake = "use tensor()";
  static Napi::FunctionReference& Constructor(Napi::Env env) { return GetAddonData(env).tensorConstructor; }
  static void Init(Napi::Env env, Napi::Object exports);
  using Handle::Handle;

 private:
  static Napi::Value FromArray(const Napi::CallbackInfo& info);
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value Dtype(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value RequiresGrad(const Napi::CallbackInfo& info);
  Napi::Value Data(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
};

}  // namespace mars
