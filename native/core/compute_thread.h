// Long-lived native threads that run queued tasks, and the two queues the
// addon has.
//
// The compute thread runs every LibTorch computation of the process.
// LibTorch parallelises inside each op with an OpenMP team that belongs to
// the calling thread: running steps on whichever libuv pool thread is free
// gives each pool thread its own team, and on a small machine the idle teams'
// spin waits and cold caches cost a quarter of a small network's step
// (measured: 0.75x Python at 2 threads on libuv's pool, 1.09x on one thread).
// One long-lived thread keeps one warm team, and leaves libuv's pool to I/O.
//
// The image threads (native/data/) decode and resample images for the data
// loader, one per core, beside the compute thread: decoding the next batches
// overlaps the step on the current one.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace mars {

class WorkQueue {
 public:
  // Starts `threads` threads that take tasks in the order they were posted.
  explicit WorkQueue(unsigned threads) {
    for (unsigned i = 0; i < threads; i++) std::thread([this] { Loop(); }).detach();
  }

  // Runs `task` on one of the queue's threads, after the tasks posted before it have started.
  void Post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

 private:
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
};

// Both queues are process-wide and never destroyed: they must outlive every env.
struct ComputeThread {
  static WorkQueue& Get() {
    static auto* instance = new WorkQueue(1);
    return *instance;
  }
};

struct ImageThreads {
  static WorkQueue& Get() {
    static auto* instance = new WorkQueue(std::max(1u, std::thread::hardware_concurrency()));
    return *instance;
  }
};

}  // namespace mars
