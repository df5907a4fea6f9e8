// Runs LibTorch work on the compute thread (compute_thread.h) and settles a
// Promise on the JS thread, so that no model computation ever blocks the
// event loop.
#pragma once

#include <napi.h>

#include <functional>
#include <optional>
#include <string>

#include "core/compute_thread.h"
#include "core/errors.h"

namespace mars {

template <typename T>
struct AsyncJob {
  Napi::Promise::Deferred deferred;
  std::function<T()> work;
  std::function<Napi::Value(Napi::Env, T&)> toJs;
  std::string fallbackCode;
  std::string context;
  std::optional<T> result;
  ErrorInfo error;
};

// Settles the job's promise on the JS thread, then frees the job.
template <typename T>
void SettleJob(Napi::Env env, Napi::Function, AsyncJob<T>* job) {
  if (env != nullptr) {
    if (!job->result) {
      job->deferred.Reject(MakeError(env, job->error).Value());
    } else {
      try {
        job->deferred.Resolve(job->toJs(env, *job->result));
      } catch (const Napi::Error& e) {
        job->deferred.Reject(e.Value());
      } catch (...) {
        job->deferred.Reject(MakeError(env, CurrentError(job->fallbackCode, job->context)).Value());
      }
    }
  }
  delete job;
}

// Queues `work` on `queue` and returns a Promise settled by `toJs` (JS thread).
template <typename T>
Napi::Promise RunAsyncOn(WorkQueue& queue, Napi::Env env, const char* fallbackCode, const std::string& context,
                         std::function<T()> work, std::function<Napi::Value(Napi::Env, T&)> toJs) {
  auto* job = new AsyncJob<T>{Napi::Promise::Deferred::New(env), std::move(work), std::move(toJs), fallbackCode, context,
                              std::nullopt, {}};
  Napi::Promise promise = job->deferred.Promise();
  // The thread-safe function carries the result back and keeps the event loop
  // alive while the work is pending, as an AsyncWorker would.
  auto done = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                            "mars-finetune", 0, 1);
  const bool posted = queue.Post([job, done]() mutable {
    try {
      job->result.emplace(job->work());
    } catch (...) {
      job->error = CurrentError(job->fallbackCode, job->context);
    }
    if (done.BlockingCall(job, SettleJob<T>) != napi_ok) delete job;  // the env is gone
    done.Release();
  });
  if (!posted) {  // the process is exiting (an 'exit' listener called in): the promise never settles
    done.Release();
    delete job;
  }
  return promise;
}

// Queues `work` on the compute thread and returns a Promise settled by `toJs` (JS thread).
template <typename T>
Napi::Promise RunAsync(Napi::Env env, const char* fallbackCode, const std::string& context,
                       std::function<T()> work, std::function<Napi::Value(Napi::Env, T&)> toJs) {
  return RunAsyncOn<T>(ComputeThread::Get(), env, fallbackCode, context, std::move(work), std::move(toJs));
}

}  // namespace mars
