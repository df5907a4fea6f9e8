// JS bindings of the projection kernels (native/kernels/projection.h), for
// tests, benchmarks and lib/projection.ts.
#pragma once

#include <napi.h>

namespace mars {

void InitProjection(Napi::Env env, Napi::Object exports);

}  // namespace mars
