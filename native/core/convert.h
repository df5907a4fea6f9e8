// Conversions between JS values and LibTorch's dtypes, devices and shapes.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

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

// Fields of an options object: `fallback` when undefined, ERR_INVALID_ARGUMENT
// naming `key` when of the wrong type (or, for numbers, not finite).
double NumberField(const Napi::Object& o, const char* key, double fallback);
bool BoolField(const Napi::Object& o, const char* key, bool fallback);
std::string StringField(const Napi::Object& o, const char* key);

}  // namespace mars
