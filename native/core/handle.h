// The pattern every handle class shares (Tensor, Module, Session): a JS object
// that owns one C++ value, made only from C++ (the value travels into the
// constructor as an External), recognised by its constructor when JS passes
// it back. A class derives from Handle<Itself, Held> and names itself with
// kName, kHowToMake and Constructor(env).
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "core/errors.h"

namespace mars {

template <typename Derived, typename Held>
class Handle : public Napi::ObjectWrap<Derived> {
 public:
  explicit Handle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Derived>(info) {
    if (info.Length() != 1 || !info[0].IsExternal()) {
      throw MakeError(info.Env(), {"ERR_INVALID_ARGUMENT", std::string(Derived::kName) +
                                                               " cannot be constructed directly; " + Derived::kHowToMake});
    }
    held_ = *info[0].template As<Napi::External<Held>>().Data();
  }

  // A new JS object owning `held`.
  static Napi::Object Wrap(Napi::Env env, Held held) {
    return Derived::Constructor(env).New({Napi::External<Held>::New(env, &held)});
  }

  // The value inside a JS handle of this class; ERR_INVALID_ARGUMENT naming `what` otherwise.
  static Held FromJs(const Napi::Value& value, const std::string& what) {
    const bool ok = value.IsObject() &&
                    value.As<Napi::Object>().InstanceOf(Derived::Constructor(value.Env()).Value());
    if (!ok) throw CodedError("ERR_INVALID_ARGUMENT", what + " must be a " + Derived::kName);
    return Napi::ObjectWrap<Derived>::Unwrap(value.As<Napi::Object>())->held_;
  }

 protected:
  using Property = typename Napi::ObjectWrap<Derived>::PropertyDescriptor;

  // Defines the class, keeps its constructor and exports it under kName.
  static void Register(Napi::Env env, Napi::Object exports, const std::vector<Property>& properties) {
    Napi::Function ctor = Napi::ObjectWrap<Derived>::DefineClass(env, Derived::kName, properties);
    Derived::Constructor(env) = Napi::Persistent(ctor);
    exports.Set(Derived::kName, ctor);
  }

  Held held_;
};

}  // namespace mars
