// Per-environment state (Node may run the addon in several worker threads,
// each with its own JS environment, so constructors live here, not in statics).
#pragma once

#include <napi.h>

namespace mars {

struct AddonData {
  Napi::FunctionReference tensorConstructor;
  Napi::FunctionReference moduleConstructor;
  Napi::FunctionReference sessionConstructor;
  Napi::FunctionReference processGroupConstructor;
};

inline AddonData& GetAddonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace mars
