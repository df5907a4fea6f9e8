// The pattern every handle class shares (Tensor, Module, Session): a JS object
// that owns one C++ value, made only from C++ (the value travels into the
// constructor as an External), recognised by its constructor when JS passes
// it back. A class derives from Handle<Itself, Held> and names itself with
// kName, kHowToMake and Constructor(env).
//
// Lifecycle as Node users expect: `dispose()` releases the value at once
// (work already queued on the compute thread holds its own reference, so it
// finishes safely); afterwards every use is ERR_DISPOSED. The bytes the value
// owns are reported to V8 as external memory while the handle holds them, so
// the garbage collector sees what a forgotten handle costs.
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/errors.h"

namespace mars {

// The bytes all live handles of this process report to V8 (runtimeInfo().nativeMemory).
inline std::atomic<int64_t> reportedNativeBytes{0};

template <typename Derived, typename Held>
class Handle : public Napi::ObjectWrap<Derived> {
 public:
  explicit Handle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Derived>(info) {
    if (info.Length() < 1 || !info[0].IsExternal()) {
      throw MakeError(info.Env(), {"ERR_INVALID_ARGUMENT", std::string(Derived::kName) +
                                                               " cannot be constructed directly; " + Derived::kHowToMake});
    }
    held_ = *info[0].template As<Napi::External<Held>>().Data();
    if (info.Length() > 1 && info[1].IsNumber()) external_ = info[1].As<Napi::Number>().Int64Value();
    if (external_ > 0) {
      Napi::MemoryManagement::AdjustExternalMemory(info.Env(), external_);
      reportedNativeBytes += external_;
    }
  }

  ~Handle() override { Release(); }

  // A new JS object owning `held`; `externalBytes` is the memory it alone keeps
  // alive (0 for views of memory another handle owns).
  static Napi::Object Wrap(Napi::Env env, Held held, int64_t externalBytes = 0) {
    return Derived::Constructor(env).New(
        {Napi::External<Held>::New(env, &held), Napi::Number::New(env, static_cast<double>(externalBytes))});
  }

  // The value inside a JS handle of this class; ERR_INVALID_ARGUMENT naming `what` otherwise.
  static Held FromJs(const Napi::Value& value, const std::string& what) {
    const bool ok = value.IsObject() &&
                    value.As<Napi::Object>().InstanceOf(Derived::Constructor(value.Env()).Value());
    if (!ok) throw CodedError("ERR_INVALID_ARGUMENT", what + " must be a " + Derived::kName);
    const Derived* self = Napi::ObjectWrap<Derived>::Unwrap(value.As<Napi::Object>());
    if (self->disposed_) throw CodedError("ERR_DISPOSED", what + " was disposed");
    return self->held_;
  }

 protected:
  using Property = typename Napi::ObjectWrap<Derived>::PropertyDescriptor;

  // Defines the class with `dispose()` and `disposed`, keeps its constructor and exports it under kName.
  static void Register(Napi::Env env, Napi::Object exports, std::vector<Property> properties) {
    properties.push_back(Napi::ObjectWrap<Derived>::InstanceMethod("dispose", &Handle::Dispose));
    properties.push_back(Napi::ObjectWrap<Derived>::InstanceAccessor("disposed", &Handle::IsDisposed, nullptr));
    Napi::Function ctor = Napi::ObjectWrap<Derived>::DefineClass(env, Derived::kName, properties);
    Derived::Constructor(env) = Napi::Persistent(ctor);
    exports.Set(Derived::kName, ctor);
  }

  // The held value; ERR_DISPOSED after dispose().
  const Held& Get(const Napi::CallbackInfo& info) const {
    if (disposed_) throw MakeError(info.Env(), {"ERR_DISPOSED", std::string(Derived::kName) + " was disposed"});
    return held_;
  }

 private:
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  Napi::Value IsDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposed_); }

  void Release() {
    if (disposed_) return;
    disposed_ = true;
    held_ = Held();
    if (external_ > 0) {
      Napi::MemoryManagement::AdjustExternalMemory(this->Env(), -external_);
      reportedNativeBytes -= external_;
    }
    external_ = 0;
  }

  Held held_;
  int64_t external_ = 0;
  bool disposed_ = false;
};

}  // namespace mars
