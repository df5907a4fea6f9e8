// Tensor handle: a JS object owning one at::Tensor (a refcounted view, so
// sharing it with LibTorch costs nothing).
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

namespace mars {

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // A new JS Tensor owning `tensor`.
  static Napi::Object Wrap(Napi::Env env, at::Tensor tensor);
  // The tensor inside a JS Tensor; ERR_INVALID_ARGUMENT naming `what` otherwise.
  static at::Tensor FromJs(const Napi::Value& value, const std::string& what);

  explicit TensorWrap(const Napi::CallbackInfo& info);

 private:
  static Napi::Value FromArray(const Napi::CallbackInfo& info);
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value Dtype(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value RequiresGrad(const Napi::CallbackInfo& info);
  Napi::Value Data(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);

  at::Tensor tensor_;
};

}  // namespace mars
