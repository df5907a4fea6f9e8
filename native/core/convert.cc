#include "core/convert.h"

#include <torch/cuda.h>

#include <cmath>
#include <limits>

#include "core/errors.h"

namespace mars {
namespace {

struct DtypeEntry {
  const char* name;
  at::ScalarType type;
};

constexpr DtypeEntry kDtypes[] = {
    {"float32", at::kFloat}, {"float64", at::kDouble}, {"int64", at::kLong},     {"int32", at::kInt},
    {"uint8", at::kByte},    {"bool", at::kBool},      {"float16", at::kHalf}, {"bfloat16", at::kBFloat16},
};

}  // namespace

at::ScalarType ParseDtype(const std::string& name) {
  for (const auto& entry : kDtypes) {
    if (name == entry.name) return entry.type;
  }
  throw CodedError("ERR_DTYPE", "unknown dtype '" + name +
                                    "'; expected one of float32, float64, int64, int32, uint8, bool, float16, bfloat16");
}

std::string DtypeName(at::ScalarType type) {
  for (const auto& entry : kDtypes) {
    if (type == entry.type) return entry.name;
  }
  return c10::toString(type);
}

c10::Device ParseDevice(const std::string& name) {
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const c10::Error&) {
    throw CodedError("ERR_DEVICE", "unknown device '" + name + "'; expected 'cpu', 'cuda' or 'cuda:N'");
  }
  if (device.is_cpu()) return device;
  if (!device.is_cuda()) throw CodedError("ERR_DEVICE", "device '" + name + "' is not supported; use 'cpu' or 'cuda'");
  if (!torch::cuda::is_available()) {
    throw CodedError("ERR_DEVICE", "device '" + name +
                                       "' requested but this LibTorch has no usable CUDA device; use device 'cpu', "
                                       "or install a CUDA LibTorch (see README, 'Finding LibTorch')");
  }
  const auto count = static_cast<int64_t>(torch::cuda::device_count());
  if (device.has_index() && device.index() >= count) {
    throw CodedError("ERR_DEVICE", "device '" + name + "' does not exist; this machine has " + std::to_string(count) +
                                       " CUDA device(s)");
  }
  return device;
}

std::string DeviceName(const c10::Device& device) { return device.str(); }

std::vector<int64_t> ShapeFromJs(const Napi::Value& value, const char* what) {
  Require(value.IsArray(), std::string(what) + " must be an array of non-negative integers");
  const auto array = value.As<Napi::Array>();
  std::vector<int64_t> shape;
  shape.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const Napi::Value item = array.Get(i);
    Require(item.IsNumber(), std::string(what) + "[" + std::to_string(i) + "] is not a number");
    const double d = item.As<Napi::Number>().DoubleValue();
    Require(std::isfinite(d) && d >= 0 && d == std::floor(d) && d <= 9007199254740991.0,
            std::string(what) + "[" + std::to_string(i) + "] must be a non-negative integer");
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

Napi::Array ShapeToJs(Napi::Env env, at::IntArrayRef shape) {
  Napi::Array array = Napi::Array::New(env, shape.size());
  for (size_t i = 0; i < shape.size(); ++i) array.Set(static_cast<uint32_t>(i), Napi::Number::New(env, double(shape[i])));
  return array;
}

std::string StringArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  Require(info.Length() > index && info[index].IsString(), std::string(what) + " must be a string");
  return info[index].As<Napi::String>().Utf8Value();
}

double NumberField(const Napi::Object& o, const char* key, double fallback) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  Require(v.IsNumber(), std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  Require(std::isfinite(d), std::string(key) + " must be finite");
  return d;
}

bool BoolField(const Napi::Object& o, const char* key, bool fallback) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  Require(v.IsBoolean(), std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string StringField(const Napi::Object& o, const char* key) {
  const Napi::Value v = o.Get(key);
  Require(v.IsString(), std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

}  // namespace mars
