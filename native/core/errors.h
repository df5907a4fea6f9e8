// One place that turns C++ failures into JS errors with a stable `code`.
// LibTorch raises c10::Error (with a C++ backtrace we never show) and the
// standard library std::exception; our own code raises CodedError.
#pragma once

#include <napi.h>

#include <stdexcept>
#include <string>

namespace mars {

// A failure whose code we already know, raised by this addon's own checks.
class CodedError : public std::runtime_error {
 public:
  CodedError(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

struct ErrorInfo {
  std::string code;
  std::string message;
};

// Describes the exception being handled (call inside a catch block).
// LibTorch errors are classified as ERR_SHAPE, ERR_DTYPE or ERR_DEVICE when
// their text says so, and get `fallbackCode` otherwise. `context` (e.g.
// "forward failed") leads the message.
ErrorInfo CurrentError(const std::string& fallbackCode, const std::string& context);

Napi::Error MakeError(Napi::Env env, const ErrorInfo& info);

// Rethrows the exception being handled (call inside a catch block) as a
// CodedError with `code` and its cleaned message, without the text-based
// classification: a load failure that mentions "size" is still a load failure.
[[noreturn]] void RethrowAs(const std::string& code);

// Throws ERR_INVALID_ARGUMENT unless `ok`.
void Require(bool ok, const std::string& message);

// Runs `body` on the JS thread, turning any C++ exception into a JS error.
template <typename F>
auto Guard(Napi::Env env, const char* fallbackCode, const char* context, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw MakeError(env, CurrentError(fallbackCode, context));
  }
}

}  // namespace mars
