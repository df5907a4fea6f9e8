// Registers the addon's classes and functions; nothing else lives here.
#include <napi.h>

#include "core/addon_data.h"
#include "data/bindings.h"
#include "train/head.h"
#include "bound/bindings.h"
#include "core/module.h"
#include "kernels/projection_binding.h"
#include "core/runtime.h"
#include "train/session.h"
#include "core/tensor.h"
#include "distributed/bindings.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new mars::AddonData());
  mars::TensorWrap::Init(env, exports);
  mars::ModuleWrap::Init(env, exports);
  mars::InitRuntime(env, exports);
  mars::InitClassifier(env, exports);
  mars::SessionWrap::Init(env, exports);
  mars::InitBound(env, exports);
  mars::InitProjection(env, exports);
  mars::ProcessGroupWrap::Init(env, exports);
  mars::InitData(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(mars_finetune, Init)
