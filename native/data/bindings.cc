// The native image path's JS surface (lib/data/native-decode.ts uses it):
//   imageOpen(path) -> Promise<{ format, width, height, channels, bytes } | { unsupported }>
//   imageDecode(bytes, plan) -> Promise<Tensor>   (float32 [C, H, W], normalised)
//   batchTensor(shape, pinned) -> Tensor           (float32, uninitialised)
//   copyItem(batch, slot, item)                    (item into batch[slot])
// Reading and decoding run on the image threads (core/compute_thread.h), one
// per core, never on the compute thread or libuv's pool: the next batches
// decode while the current one trains.
#include "data/bindings.h"

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <cstring>
#include <memory>
#include <system_error>

#include "core/async.h"
#include "core/convert.h"
#include "core/errors.h"
#include "core/tensor.h"
#include "data/image.h"
#include "data/item.h"

namespace mars {
namespace {

using FileBytes = std::vector<uint8_t>;

struct OpenedImage {
  std::shared_ptr<FileBytes> bytes;
  image::Header header;
  std::string unsupported;  // why the native path leaves this file to sharp, when it does
};

const char* FormatName(image::Format f) { return f == image::Format::kJpeg ? "jpeg" : "png"; }

// Runs `body`, giving file problems the codes the loader judges them by.
template <typename F>
auto ImageErrors(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const image::Corrupt& e) {
    throw CodedError("ERR_DATA_FILE", e.what());
  } catch (const image::NotRegular& e) {
    throw CodedError("ERR_DATA_FILE", e.what());
  } catch (const std::system_error& e) {
    throw CodedError("ERR_DATA_FILE", e.what());
  }
}

Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_DATA_FILE", "imageOpen", [&]() -> Napi::Value {
    const std::string path = StringArg(info, 0, "path");
    return RunAsyncOn<OpenedImage>(
        ImageThreads::Get(), env, "ERR_DATA_FILE", "",
        [path]() {
          return ImageErrors([&] {
            OpenedImage opened{std::make_shared<FileBytes>(image::ReadFile(path)), {}, {}};
            try {
              opened.header = image::ReadHeader(*opened.bytes);
              if (opened.header.format == image::Format::kOther) opened.unsupported = "not JPEG or PNG";
            } catch (const image::Unsupported& e) {
              opened.unsupported = e.what();
            }
            return opened;
          });
        },
        [](Napi::Env env, OpenedImage& opened) -> Napi::Value {
          Napi::Object out = Napi::Object::New(env);
          if (!opened.unsupported.empty()) {
            out.Set("unsupported", opened.unsupported);
            return out;
          }
          out.Set("format", FormatName(opened.header.format));
          out.Set("width", opened.header.width);
          out.Set("height", opened.header.height);
          out.Set("channels", opened.header.channels);
          auto* held = new OpenedImage(std::move(opened));
          out.Set("bytes", Napi::External<OpenedImage>::New(env, held, [](Napi::Env, OpenedImage* o) { delete o; }));
          return out;
        });
  });
}

int IntProperty(const Napi::Object& o, const char* key) {
  const Napi::Value v = o.Get(key);
  Require(v.IsNumber(), std::string("plan: ") + key + " must be a number");
  return v.As<Napi::Number>().Int32Value();
}

// A rectangle inside `width` × `height`, or none (null).
bool ReadRect(const Napi::Value& value, int width, int height, image::Rect& rect) {
  if (value.IsNull() || value.IsUndefined()) return false;
  Require(value.IsObject(), "plan: a crop must be an object or null");
  const auto o = value.As<Napi::Object>();
  rect = {IntProperty(o, "left"), IntProperty(o, "top"), IntProperty(o, "width"), IntProperty(o, "height")};
  Require(rect.left >= 0 && rect.top >= 0 && rect.width > 0 && rect.height > 0 && rect.left + rect.width <= width &&
              rect.top + rect.height <= height,
          "plan: a crop lies outside its image");
  return true;
}

// The plan of lib/data/geometry.ts for one image, checked against its size so that no pass reads outside it.
image::ItemPlan ReadPlan(const Napi::Value& value, const image::Header& header) {
  Require(value.IsObject(), "plan must be an object");
  const auto o = value.As<Napi::Object>();
  image::ItemPlan plan;
  int width = header.width, height = header.height;
  const Napi::Value stages = o.Get("stages");
  Require(stages.IsArray(), "plan: stages must be an array");
  const auto list = stages.As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); i++) {
    Require(list.Get(i).IsObject(), "plan: a stage must be an object");
    const auto s = list.Get(i).As<Napi::Object>();
    image::Stage stage;
    stage.hasCrop = ReadRect(s.Get("crop"), width, height, stage.crop);
    stage.width = IntProperty(s, "width");
    stage.height = IntProperty(s, "height");
    Require(stage.width > 0 && stage.height > 0 && stage.width <= 1 << 15 && stage.height <= 1 << 15,
            "plan: a stage's size must be positive and at most 32768");
    plan.stages.push_back(stage);
    width = stage.width;
    height = stage.height;
  }
  plan.hasCrop = ReadRect(o.Get("crop"), width, height, plan.crop);
  plan.flip = o.Get("flip").ToBoolean().Value();
  plan.channels = IntProperty(o, "channels");
  Require(plan.channels == 1 || plan.channels == 3, "plan: channels must be 1 or 3");
  const Napi::Value table = o.Get("table");
  Require(table.IsTypedArray() && table.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array &&
              table.As<Napi::Float32Array>().ElementLength() == static_cast<size_t>(256 * plan.channels),
          "plan: table must be a Float32Array of 256 values per channel");
  const auto t = table.As<Napi::Float32Array>();
  plan.table = std::make_shared<std::vector<float>>(t.Data(), t.Data() + t.ElementLength());
  return plan;
}

Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "imageDecode", [&]() -> Napi::Value {
    Require(info.Length() >= 2 && info[0].IsExternal(), "imageDecode(bytes, plan): bytes must come from imageOpen");
    OpenedImage* held = info[0].As<Napi::External<OpenedImage>>().Data();
    Require(held->bytes != nullptr, "imageDecode: these bytes were decoded already");
    const image::ItemPlan plan = ReadPlan(info[1], held->header);
    // The job takes the file's bytes: they are freed when it ends, not when the collector finds the handle.
    const OpenedImage opened = std::move(*held);
    held->bytes.reset();
    return RunAsyncOn<at::Tensor>(
        ImageThreads::Get(), env, "ERR_DATA_FILE", "",
        [opened, plan]() {
          return ImageErrors([&] {
            at::Tensor item = at::empty(image::ItemShape(opened.header, plan), at::kFloat);
            try {
              image::WriteItem(*opened.bytes, opened.header, plan, item.data_ptr<float>());
            } catch (const image::Unsupported& e) {
              throw CodedError("ERR_IMAGE_UNSUPPORTED", e.what());
            }
            return item;
          });
        },
        [](Napi::Env env, at::Tensor& item) -> Napi::Value { return TensorWrap::Wrap(env, item, TensorBytes(item)); });
  });
}

Napi::Value BatchTensor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "batchTensor", [&]() -> Napi::Value {
    const std::vector<int64_t> shape = ShapeFromJs(info[0], "shape");
    // Page-locked memory lets the copy to a GPU run asynchronously; only a CUDA LibTorch has it.
    const bool pinned = info.Length() > 1 && info[1].ToBoolean().Value() && torch::cuda::is_available();
    at::Tensor batch = at::empty(shape, at::TensorOptions().dtype(at::kFloat).pinned_memory(pinned));
    return TensorWrap::Wrap(env, batch, TensorBytes(batch));
  });
}

Napi::Value CopyItem(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "ERR_INVALID_ARGUMENT", "copyItem", [&]() -> Napi::Value {
    const at::Tensor batch = TensorWrap::FromJs(info[0], "batch");
    const at::Tensor item = TensorWrap::FromJs(info[2], "item");
    Require(info[1].IsNumber(), "slot must be a number");
    const int64_t slot = info[1].As<Napi::Number>().Int64Value();
    Require(batch.is_contiguous() && item.is_contiguous() && batch.scalar_type() == at::kFloat &&
                item.scalar_type() == at::kFloat && batch.device().is_cpu() && item.device().is_cpu(),
            "copyItem takes contiguous float32 CPU tensors");
    Require(batch.dim() == item.dim() + 1 && batch.sizes().slice(1) == item.sizes(), "the item's shape is not the batch's");
    Require(slot >= 0 && slot < batch.size(0), "slot is outside the batch");
    std::memcpy(batch.data_ptr<float>() + slot * item.numel(), item.data_ptr<float>(), item.nbytes());
    return env.Undefined();
  });
}

}  // namespace

void InitData(Napi::Env env, Napi::Object exports) {
  exports.Set("imageOpen", Napi::Function::New(env, Open, "imageOpen"));
  exports.Set("imageDecode", Napi::Function::New(env, Decode, "imageDecode"));
  exports.Set("batchTensor", Napi::Function::New(env, BatchTensor, "batchTensor"));
  exports.Set("copyItem", Napi::Function::New(env, CopyItem, "copyItem"));
}

}  // namespace mars
