// The native image path's functions (see bindings.cc).
#pragma once

#include <napi.h>

namespace mars {
void InitData(Napi::Env env, Napi::Object exports);
}
