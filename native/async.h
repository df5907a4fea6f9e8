// Runs LibTorch work on libuv's thread pool and settles a Promise on the JS
// thread, so that no model computation ever blocks the event loop.
#pragma once

#include <napi.h>

#include <functional>
#include <optional>
#include <string>

#include "errors.h"

namespace mars {

template <typename T>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<T()>;
  using ToJs = std::function<Napi::Value(Napi::Env, T&)>;

  PromiseWorker(Napi::Env env, std::string fallbackCode, std::string context, Work work, ToJs toJs)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        fallbackCode_(std::move(fallbackCode)),
        context_(std::move(context)),
        work_(std::move(work)),
        toJs_(std::move(toJs)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  // Worker thread: no JS values may be touched here.
  void Execute() override {
    try {
      result_.emplace(work_());
    } catch (...) {
      error_ = CurrentError(fallbackCode_, context_);
    }
  }

  // JS thread.
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (!result_) {
      deferred_.Reject(MakeError(env, error_).Value());
      return;
    }
    try {
      deferred_.Resolve(toJs_(env, *result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (...) {
      deferred_.Reject(MakeError(env, CurrentError(fallbackCode_, context_)).Value());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string fallbackCode_;
  std::string context_;
  Work work_;
  ToJs toJs_;
  std::optional<T> result_;
  ErrorInfo error_;
};

// Queues `work` (worker thread) and returns a Promise settled by `toJs` (JS thread).
template <typename T>
Napi::Promise RunAsync(Napi::Env env, const char* fallbackCode, const std::string& context,
                       std::function<T()> work, std::function<Napi::Value(Napi::Env, T&)> toJs) {
  auto* worker = new PromiseWorker<T>(env, fallbackCode, context, std::move(work), std::move(toJs));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace mars
