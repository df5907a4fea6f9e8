// Stand-in for node-addon-api's header, so that native/errors.h (which the
// projection kernels include for mars::CodedError) compiles in a plain PyTorch
// extension without Node. Only the two names errors.h mentions are declared.
#pragma once

#include <exception>

namespace Napi {
class Env {};
class Error : public std::exception {};
}  // namespace Napi
