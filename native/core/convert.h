// Conversions between JS values and LibTorch's dtypes, devices and shapes.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace mars {

// "float32" | "float64" | "int64" | "int32" | "uint8" | "bool" | "float16" | "bfloat16".
at::ScalarType ParseDtype(const std::string& name);
std::string DtypeName(at::ScalarType type);

// "cpu", "cuda", "cuda:N". Refuses (ERR_DEVICE) a device this LibTorch cannot use.
c10::Device ParseDevice(const std::string& name);
std::string DeviceName(const c10::Device& device);

// A JS array of non-negative safe integers; throws ERR_INVALID_ARGUMENT otherwise.
std::vector<int64_t> ShapeFromJs(const Napi::Value& value, const char* what);
Napi::Array ShapeToJs(Napi::Env env, at::IntArrayRef shape);

// The string argument `index` of a call, or ERR_INVALID_ARGUMENT naming `what`.
std::string StringArg(const Napi::CallbackInfo& info, size_t index, const char* what);

// An options object whose every field is required and known: a specification
// read from TypeScript, which fills in the defaults (the zod schemas). Every
// failure is ERR_INVALID_ARGUMENT naming the field by its path
// (`options.optimizer.lr`): the object is not an object, holds a field not in
// `known` (a misspelling is an error, not an absent field), or a field read is
// missing (undefined counts as missing) or of the wrong type.
class StrictObject {
 public:
  StrictObject(const Napi::Value& value, std::string path, std::initializer_list<const char*> known);

  double Number(const char* key) const;  // finite
  // A whole number in [min, max] (both at most 2^53 - 1 in magnitude).
  int64_t Integer(const char* key, double min, double max) const;
  bool Bool(const char* key) const;
  std::string String(const char* key) const;
  // A string among `choices`.
  std::string Choice(const char* key, std::initializer_list<const char*> choices) const;
  // Present and null: the spec's way of saying a part is absent.
  bool IsNull(const char* key) const;
  StrictObject Object(const char* key, std::initializer_list<const char*> known) const;
  // An array of objects, each with the fields `known`.
  std::vector<StrictObject> Objects(const char* key, std::initializer_list<const char*> known) const;
  // The field's value, present (for handles, which their own FromJs checks).
  Napi::Value Value(const char* key) const;
  std::string PathOf(const char* key) const { return path_ + "." + key; }

 private:
  Napi::Object object_;
  std::string path_;
};

}  // namespace mars
