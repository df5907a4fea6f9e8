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
//
// At exit, both queues stop taking tasks and the JS thread waits for the ones
// running (StopForExit): LibTorch's static destructors run at exit, and a
// step still computing on the compute thread then reads freed memory (a
// script that calls process.exit() or throws during fineTune ended with
// SIGSEGV in 9 runs of 9).
#pragma once

#include <algorithm>
#include <atomic>
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

  // Runs `task` on one of the queue's threads, after the tasks posted before
  // it have started; false (and `task` never runs) once StopForExit was called.
  bool Post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopped_) return false;
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
    return true;
  }

  // Takes no task after this one call, and returns once the tasks already
  // running have finished; the tasks still queued never run (the process is
  // exiting, and nothing will read their results).
  void StopForExit() {
    std::unique_lock<std::mutex> lock(mutex_);
    stopped_ = true;
    idle_.wait(lock, [this] { return running_ == 0; });
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !stopped_ && !queue_.empty(); });
        task = std::move(queue_.front());
        queue_.pop_front();
        running_++;
      }
      task();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        running_--;
      }
      idle_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> queue_;
  unsigned running_ = 0;
  bool stopped_ = false;
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
    static auto* instance = (started = true, new WorkQueue(std::max(1u, std::thread::hardware_concurrency())));
    return *instance;
  }
  // Whether Get() made the threads (a process that read no image files has none to stop).
  static inline std::atomic<bool> started{false};
};

// Stops both queues for the process's exit (see WorkQueue::StopForExit).
inline void StopQueuesForExit() {
  ComputeThread::Get().StopForExit();
  if (ImageThreads::started) ImageThreads::Get().StopForExit();
}

}  // namespace mars
