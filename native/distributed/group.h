// One rank's membership of a data-parallel job: the TCPStore rendezvous at
// MASTER_ADDR:MASTER_PORT (rank 0 hosts it), a c10d backend (Gloo on CPU,
// NCCL on CUDA) for the collectives, and a heartbeat through the store that
// lets a rank whose collective failed say which rank is to blame (one that
// reported an error, one whose heartbeat stopped, or one left behind).
//
// Collectives must be called in the same order on every rank, from one
// thread (the compute thread): they block until done or until the timeout.
#pragma once

#include <ATen/ATen.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "distributed/c10d.h"

namespace mars {

// The most ranks a job may have: MAX_WORLD_SIZE in lib/distributed/options.ts
// (a world size far past any real job made the store's loops run for hours).
constexpr int kMaxWorldSize = 65536;
// The longest timeout, in seconds: MAX_TIMEOUT_SECONDS there (a week, past any real
// wait; absurd ones overflow the milliseconds c10d counts in).
constexpr double kMaxTimeoutSeconds = 604800;

// Mirrors NativeGroupSpec (lib/native/surface.ts); TypeScript fills in the
// defaults (lib/distributed/options.ts), so none are here.
struct GroupSpec {
  std::string masterAddr;
  int masterPort;
  int rank;
  int worldSize;
  std::string backend;  // gloo | nccl
  c10::Device device = c10::Device(c10::kCPU);  // this rank's device (NCCL: its own GPU); c10::Device has no empty state
  // Where this rank's Gloo transport listens: a network interface (GLOO_SOCKET_IFNAME)
  // or else an address; neither: the address the host name resolves to.
  std::string interface;
  std::string host;
  double timeoutSeconds;      // a dead or hung rank is reported within this
  double joinTimeoutSeconds;  // every rank must have joined within this
};

struct Heartbeat;

class DistributedGroup {
 public:
  // Joins the job (blocks until every rank has joined); ERR_DISTRIBUTED on failure.
  explicit DistributedGroup(const GroupSpec& spec);
  ~DistributedGroup();
  DistributedGroup(const DistributedGroup&) = delete;
  DistributedGroup& operator=(const DistributedGroup&) = delete;

  int rank() const { return spec_.rank; }
  int worldSize() const { return spec_.worldSize; }
  const GroupSpec& spec() const { return spec_; }

  // In place, over every rank: the sum of `tensors` / rank `root`'s `tensors`.
  // Tensors are packed into flat buckets (one dtype and device each, at most
  // kBucketBytes), all buckets in flight at once.
  void AllReduceSum(const std::vector<at::Tensor>& tensors, const char* what);
  void Broadcast(const std::vector<at::Tensor>& tensors, int root, const char* what);
  void Barrier();
  // Every rank publishes `value` under `key`; returns every rank's value, in rank order.
  std::vector<std::string> Exchange(const std::string& key, const std::string& value);
  // Best effort: leaves this rank's reason for stopping where the others look.
  void ReportFailure(const std::string& message);
  // Leaves the job: stops the heartbeat and closes the connections.
  void Shutdown();

  static constexpr size_t kBucketBytes = 25u << 20;  // DDP's default bucket_cap_mb

 private:
  using Works = std::vector<c10::intrusive_ptr<c10d::Work>>;
  template <typename Start>
  void Coalesced(const std::vector<at::Tensor>& tensors, const char* what, Start start);
  void Wait(Works& works, const char* what);
  c10::intrusive_ptr<Comm>& comm(const char* what);
  // Throws ERR_DISTRIBUTED: `what` failed (c10d said `detail`), and which rank is to blame.
  [[noreturn]] void Fail(const std::string& what, const std::string& detail);
  std::string Blame();

  GroupSpec spec_;
  std::chrono::milliseconds beatInterval_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<Comm> comm_;
  std::shared_ptr<Heartbeat> heartbeat_;
  int64_t sequence_ = 0;  // collectives started so far (identical on every rank while in step)
};

}  // namespace mars
