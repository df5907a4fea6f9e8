// The JS face of a DistributedGroup: createProcessGroup(spec) joins the job
// (a Promise: the rendezvous blocks the compute thread, never the event loop);
// the handle reduces metrics, exchanges strings through the store, reports a
// failure and leaves. Sessions take the handle to average their gradients.
#pragma once

#include <napi.h>

#include <memory>

#include "core/addon_data.h"
#include "core/handle.h"
#include "distributed/group.h"

namespace mars {

class ProcessGroupWrap : public Handle<ProcessGroupWrap, std::shared_ptr<DistributedGroup>> {
 public:
  static constexpr const char* kName = "ProcessGroup";
  static constexpr const char* kHowToMake = "use initProcessGroup()";
  static Napi::FunctionReference& Constructor(Napi::Env env) { return GetAddonData(env).processGroupConstructor; }
  static void Init(Napi::Env env, Napi::Object exports);
  using Handle::Handle;

 private:
  static Napi::Value Create(const Napi::CallbackInfo& info);
  Napi::Value Rank(const Napi::CallbackInfo& info);
  Napi::Value WorldSize(const Napi::CallbackInfo& info);
  Napi::Value AllReduce(const Napi::CallbackInfo& info);
  Napi::Value Exchange(const Napi::CallbackInfo& info);
  Napi::Value Barrier(const Napi::CallbackInfo& info);
  Napi::Value ReportFailure(const Napi::CallbackInfo& info);
  Napi::Value Shutdown(const Napi::CallbackInfo& info);
};

}  // namespace mars
