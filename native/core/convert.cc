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

StrictObject::StrictObject(const Napi::Value& value, std::string path, std::initializer_list<const char*> known)
    : path_(std::move(path)) {
  Require(value.IsObject() && !value.IsArray(), path_ + " must be an object");
  object_ = value.As<Napi::Object>();
  const Napi::Array names = object_.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).ToString().Utf8Value();
    bool isKnown = false;
    for (const char* k : known) isKnown = isKnown || name == k;
    if (isKnown) continue;
    std::string expected;
    for (const char* k : known) expected += (expected.empty() ? "" : ", ") + std::string(k);
    throw CodedError("ERR_INVALID_ARGUMENT", path_ + " has an unknown field '" + name + "'; its fields are " + expected);
  }
}

Napi::Value StrictObject::Value(const char* key) const {
  const Napi::Value v = object_.Get(key);
  Require(!v.IsUndefined(), PathOf(key) + " is missing");
  return v;
}

double StrictObject::Number(const char* key) const {
  const Napi::Value v = Value(key);
  Require(v.IsNumber(), PathOf(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  Require(std::isfinite(d), PathOf(key) + " must be finite");
  return d;
}

int64_t StrictObject::Integer(const char* key, double min, double max) const {
  const double d = Number(key);
  Require(d == std::floor(d) && d >= min && d <= max,
          PathOf(key) + " must be a whole number in [" + std::to_string(static_cast<int64_t>(min)) + ", " +
              std::to_string(static_cast<int64_t>(max)) + "]");
  return static_cast<int64_t>(d);
}

bool StrictObject::Bool(const char* key) const {
  const Napi::Value v = Value(key);
  Require(v.IsBoolean(), PathOf(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string StrictObject::String(const char* key) const {
  const Napi::Value v = Value(key);
  Require(v.IsString(), PathOf(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::string StrictObject::Choice(const char* key, std::initializer_list<const char*> choices) const {
  const std::string s = String(key);
  std::string expected;
  for (const char* c : choices) {
    if (s == c) return s;
    expected += (expected.empty() ? "" : ", ") + std::string(c);
  }
  throw CodedError("ERR_INVALID_ARGUMENT", PathOf(key) + " must be one of " + expected + ", not '" + s + "'");
}

bool StrictObject::IsNull(const char* key) const { return Value(key).IsNull(); }

StrictObject StrictObject::Object(const char* key, std::initializer_list<const char*> known) const {
  return StrictObject(Value(key), PathOf(key), known);
}

std::vector<StrictObject> StrictObject::Objects(const char* key, std::initializer_list<const char*> known) const {
  const Napi::Value v = Value(key);
  Require(v.IsArray(), PathOf(key) + " must be an array");
  const auto array = v.As<Napi::Array>();
  std::vector<StrictObject> out;
  for (uint32_t i = 0; i < array.Length(); ++i) out.emplace_back(array.Get(i), PathOf(key) + "[" + std::to_string(i) + "]", known);
  return out;
}

}  // namespace mars
