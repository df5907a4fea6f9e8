// The one native thread that runs every LibTorch computation of the process.
// LibTorch parallelises inside each op with an OpenMP team that belongs to the
// calling thread: running steps on whichever libuv pool thread is free gives
// each pool thread its own team, and on a small machine the idle teams' spin
// waits and cold caches cost a quarter of a small network's step (measured:
// 0.75x Python at 2 threads on libuv's pool, 1.09x on one thread). One
// long-lived thread keeps one warm team, and leaves libuv's pool to I/O and
// image decoding.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace mars {

class ComputeThread {
 public:
  // The process-wide instance (never destroyed: it must outlive every env).
  static ComputeThread& Get() {
    static auto* instance = new ComputeThread();
    return *instance;
  }

  // Runs `task` on the compute thread, after the tasks posted before it.
  void Post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

 private:
  ComputeThread() : thread_([this] { Loop(); }) { thread_.detach(); }

  void Loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !queue_.empty(); });
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  std::thread thread_;
};

}  // namespace mars
