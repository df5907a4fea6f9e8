// Process-wide LibTorch facts and settings: version, CUDA, threads, seed.
#pragma once

#include <napi.h>

namespace mars {
void InitRuntime(Napi::Env env, Napi::Object exports);
}
