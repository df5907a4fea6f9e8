#include "core/tensor.h"

#include <cstring>

#include "core/addon_data.h"
#include "core/async.h"
#include "core/convert.h"
#include "core/errors.h"

namespace mars {
namespace {

// The dtype a typed array holds naturally; tensors are created from and read
// back into exactly these, so no element is ever reinterpreted.
at::ScalarType DtypeOfTypedArray(napi_typedarray_type type) {
  switch (type) {
    case napi_float32_array: return at::kFloat;
    case napi_float64_array: return at::kDouble;
    case napi_bigint64_array: return at::kLong;
    case napi_int32_array: return at::kInt;
    case napi_uint8_array:
    case napi_uint8_clamped_array: return at::kByte;
    default:
      throw CodedError("ERR_DTYPE",
                       "unsupported typed array; use Float32Array, Float64Array, BigInt64Array, Int32Array or Uint8Array");
  }
}

Napi::Value TypedArrayOver(Napi::Env env, Napi::ArrayBuffer buffer, at::ScalarType type, size_t length) {
  switch (type) {
    case at::kFloat: return Napi::Float32Array::New(env, length, buffer, 0);
    case at::kDouble: return Napi::Float64Array::New(env, length, buffer, 0);
    case at::kLong: return Napi::TypedArrayOf<int64_t>::New(env, length, buffer, 0, napi_bigint64_array);
    case at::kInt: return Napi::Int32Array::New(env, length, buffer, 0);
    case at::kByte:
    case at::kBool: return Napi::Uint8Array::New(env, length, buffer, 0);
    default:
      throw CodedError("ERR_DTYPE", "cannot read a " + DtypeName(type) +
                                        " tensor into a typed array; convert it first with tensor.to({ dtype: 'float32' })");
  }
}

// The first element of a typed array. Asked of the array itself, not of its
// buffer: N-API reads an ArrayBuffer's memory but refuses a SharedArrayBuffer's.
const void* ElementsOf(Napi::Env env, const Napi::TypedArray& array) {
  void* data = nullptr;
  const napi_status status = napi_get_typedarray_info(env, array, nullptr, nullptr, &data, nullptr, nullptr);
  if (status != napi_ok) throw CodedError("ERR_INVALID_ARGUMENT", "cannot read the typed array's memory");
  return data;
}

// A bool tensor's bytes must each be 0 or 1: LibTorch reads any other byte as
// a bool that is neither true nor false (`x == true` and `x` disagree).
void RequireBoolBytes(const at::Tensor& t) {
  const auto* bytes = static_cast<const uint8_t*>(t.data_ptr());
  const int64_t numel = t.numel();
  for (int64_t i = 0; i < numel; ++i) {
    if (bytes[i] > 1) {
      throw CodedError("ERR_INVALID_ARGUMENT", "bool data must be 0 or 1; element " + std::to_string(i) + " is " +
                                                   std::to_string(bytes[i]));
    }
  }
}

}  // namespace

void TensorWrap::Init(Napi::Env env, Napi::Object exports) {
  Register(env, exports,
           {
               InstanceAccessor<&TensorWrap::Shape>("shape"),
               InstanceAccessor<&TensorWrap::Dtype>("dtype"),
               InstanceAccessor<&TensorWrap::Device>("device"),
               InstanceAccessor<&TensorWrap::RequiresGrad>("requiresGrad"),
               InstanceMethod<&TensorWrap::Data>("data"),
               InstanceMethod<&TensorWrap::To>("to"),
           });
  exports.Set("tensorFromArray", Napi::Function::New(env, &TensorWrap::FromArray, "tensorFromArray"));
}

// tensorFromArray(typedArray, shape, dtype): one copy into LibTorch-owned
// memory. Sharing the JS buffer instead is not safe: JS may detach or
// transfer it while a LibTorch graph still holds the tensor.
Napi::Value TensorWrap::FromArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "tensor", [&]() -> Napi::Value {
    Require(info.Length() >= 3 && info[0].IsTypedArray(), "data must be a typed array");
    const auto array = info[0].As<Napi::TypedArray>();
    const std::vector<int64_t> shape = ShapeFromJs(info[1], "shape");
    const at::ScalarType dtype = ParseDtype(StringArg(info, 2, "dtype"));
    const at::ScalarType natural = DtypeOfTypedArray(array.TypedArrayType());
    const bool compatible = dtype == natural || (dtype == at::kBool && natural == at::kByte);
    if (!compatible) {
      throw CodedError("ERR_DTYPE", "dtype '" + DtypeName(dtype) + "' does not match the typed array (it holds " +
                                        DtypeName(natural) + ")");
    }
    int64_t numel = 1;
    for (int64_t d : shape) {
      if (d != 0 && numel > std::numeric_limits<int64_t>::max() / d) throw CodedError("ERR_SHAPE", "shape is too large");
      numel *= d;
    }
    if (numel != static_cast<int64_t>(array.ElementLength())) {
      throw CodedError("ERR_SHAPE", "shape [" + c10::Join(", ", shape) + "] holds " + std::to_string(numel) +
                                        " elements but the array has " + std::to_string(array.ElementLength()));
    }
    at::Tensor tensor = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (numel > 0) std::memcpy(tensor.data_ptr(), ElementsOf(env, array), array.ByteLength());
    // Checked in the copy: a SharedArrayBuffer's bytes may change under us, the tensor's cannot.
    if (dtype == at::kBool) RequireBoolBytes(tensor);
    return Wrap(env, tensor, TensorBytes(tensor));
  });
}

Napi::Value TensorWrap::Shape(const Napi::CallbackInfo& info) { return ShapeToJs(info.Env(), Get(info).sizes()); }

Napi::Value TensorWrap::Dtype(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), DtypeName(Get(info).scalar_type()));
}

Napi::Value TensorWrap::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), DeviceName(Get(info).device()));
}

Napi::Value TensorWrap::RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Get(info).requires_grad());
}

// data(): a typed array over the tensor's own memory when it is a contiguous
// CPU tensor (zero copies; the array keeps the tensor alive), else over a
// contiguous CPU copy.
Napi::Value TensorWrap::Data(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_TORCH", "data", [&]() -> Napi::Value {
    at::Tensor cpu = Get(info).detach().to(at::kCPU).contiguous();
    const size_t length = static_cast<size_t>(cpu.numel());
    const at::ScalarType type = cpu.scalar_type();
    if (length == 0) return TypedArrayOver(env, Napi::ArrayBuffer::New(env, 0), type, 0);
    auto* owner = new at::Tensor(cpu);
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
        env, owner->data_ptr(), owner->nbytes(), [](Napi::Env, void*, at::Tensor* held) { delete held; }, owner);
    return TypedArrayOver(env, buffer, type, length);
  });
}

// to(device?, dtype?) -> Promise<Tensor>: a converted tensor (the same one
// when nothing changes). On the compute thread: a copy to or from a GPU, or
// of a large tensor, must not block the event loop.
Napi::Value TensorWrap::To(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "to", [&]() -> Napi::Value {
    const at::Tensor self = Get(info);
    c10::optional<c10::Device> device;
    c10::optional<at::ScalarType> dtype;
    if (info.Length() > 0 && !info[0].IsUndefined() && !info[0].IsNull()) device = ParseDevice(StringArg(info, 0, "device"));
    if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) dtype = ParseDtype(StringArg(info, 1, "dtype"));
    return RunAsync<at::Tensor>(
        env, "ERR_TORCH", "to failed",
        [self, device, dtype]() {
          at::Tensor result = self;
          if (device) result = result.to(*device);
          if (dtype) result = result.to(*dtype);
          return result;
        },
        [self](Napi::Env env, at::Tensor& result) -> Napi::Value {
          return Wrap(env, result, result.is_same(self) ? 0 : TensorBytes(result));
        });
  });
}

}  // namespace mars
