// JS bindings for the generalisation bound: the forward graph (graph.h), the
// norms (norms.h) and the initial network built on a fine-tuned one's layout.
#pragma once

#include <napi.h>

namespace mars {
void InitBound(Napi::Env env, Napi::Object exports);
}
