#include "core/errors.h"

#include <c10/util/Exception.h>

#include <exception>
#include <regex>

namespace mars {
namespace {

// TorchScript interpreter errors carry a serialized-code traceback; the last
// "SomethingError: ..." line is the part a user can act on.
std::string LastErrorLine(const std::string& text) {
  static const std::regex kErrorLine(R"((?:^|\n)\s*(?:[A-Za-z]+Error|Exception): ([^\n]+))");
  std::string last;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kErrorLine); it != std::sregex_iterator(); ++it) {
    last = (*it)[1].str();
  }
  return last.empty() ? text : last;
}

std::string Trim(std::string s) {
  const auto first = s.find_first_not_of(" \n\t");
  const auto last = s.find_last_not_of(" \n\t");
  return first == std::string::npos ? "" : s.substr(first, last - first + 1);
}

// Order matters: device messages often mention types, dtype messages sizes.
std::string Classify(const std::string& text, const std::string& fallback) {
  static const std::regex kDevice(R"(same device|device type|CUDA|cuda|Expected .* device)");
  static const std::regex kDtype(
      R"(scalar type|dtype|Input type .* and .* type|should be the same type|expected .*(Float|Double|Long|Byte|Int|Half))");
  static const std::regex kShape(
      R"(shape|size|dimension|channels|must match|expected input|-dimensional|mat1 and mat2|out of bounds|Expected .*D)");
  if (std::regex_search(text, kDevice)) return "ERR_DEVICE";
  if (std::regex_search(text, kDtype)) return "ERR_DTYPE";
  if (std::regex_search(text, kShape)) return "ERR_SHAPE";
  return fallback;
}

}  // namespace

ErrorInfo CurrentError(const std::string& fallbackCode, const std::string& context) {
  const std::string lead = context.empty() ? "" : context + ": ";
  try {
    throw;
  } catch (const CodedError& e) {
    return {e.code(), lead + e.what()};
  } catch (const c10::Error& e) {
    const std::string text = Trim(LastErrorLine(e.what_without_backtrace()));
    return {Classify(text, fallbackCode), lead + text};
  } catch (const std::exception& e) {
    const std::string text = Trim(LastErrorLine(e.what()));
    return {Classify(text, fallbackCode), lead + text};
  } catch (...) {
    return {fallbackCode, lead + "unknown native error"};
  }
}

Napi::Error MakeError(Napi::Env env, const ErrorInfo& info) {
  Napi::Error error = Napi::Error::New(env, info.message);
  error.Set("code", Napi::String::New(env, info.code));
  return error;
}

void RethrowAs(const std::string& code) {
  try {
    throw;
  } catch (const CodedError&) {
    throw;
  } catch (...) {
    throw CodedError(code, CurrentError(code, "").message);
  }
}

void Require(bool ok, const std::string& message) {
  if (!ok) throw CodedError("ERR_INVALID_ARGUMENT", message);
}

}  // namespace mars
