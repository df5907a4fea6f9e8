#include "distributed/group.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/errors.h"

namespace mars {
namespace {

using std::chrono::milliseconds;

milliseconds Ms(double seconds) { return milliseconds(static_cast<int64_t>(seconds * 1000)); }

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string Text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

// The first line of a c10d/Gloo message, without LibTorch's source locations.
std::string FirstLine(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.rfind('[', 0) == 0 && line.find("] ") != std::string::npos) line = line.substr(line.find("] ") + 2);
  return line;
}

std::string Describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const c10::Error& c) {
    return FirstLine(c.what_without_backtrace());
  } catch (const std::exception& s) {
    return FirstLine(s.what());
  } catch (...) {
    return "unknown error";
  }
}

std::string BeatKey(int rank) { return "beat/" + std::to_string(rank); }
std::string FailedKey(int rank) { return "failed/" + std::to_string(rank); }

// A connection to rank 0's store (rank 0 hosts it: `server`). It does not wait
// for the other ranks: TCPStore's own wait gives up silently in LibTorch 1.13
// (the job then went on, to wait again in the backend); AwaitRanks waits.
c10::intrusive_ptr<c10d::TCPStore> Connect(const GroupSpec& s, bool server, milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(s.masterPort);
  o.isServer = server;
  o.waitWorkers = false;
  o.timeout = timeout;
  return c10::make_intrusive<c10d::TCPStore>(s.masterAddr, o);
}

// Whether a TCP connection to host:port opens within `wait`.
bool Reachable(const std::string& host, int port, milliseconds wait) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return false;
  bool open = false;
  for (addrinfo* a = found; a && !open; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      open = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int error = 0;
      socklen_t length = sizeof(error);
      open = poll(&p, 1, static_cast<int>(wait.count())) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
    }
    close(fd);
  }
  freeaddrinfo(found);
  return open;
}

// Waits until rank 0's store accepts connections, or `deadline`. TCPStore's
// own client retries with a growing back-off that overshoots its timeout
// (LibTorch 2.11: a 2 s timeout gave up after 4.2 s); this returns at the
// deadline, give or take 50 ms.
bool AwaitMaster(const GroupSpec& s, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= milliseconds(0)) return false;
    if (Reachable(s.masterAddr, s.masterPort, std::min(left, milliseconds(1000)))) return true;
    std::this_thread::sleep_for(std::min(left, milliseconds(50)));
  }
}

// Rendezvous failures a user can fix, in words that say how.
[[noreturn]] void JoinFailed(const GroupSpec& s, const std::string& detail) {
  const std::string where = s.masterAddr + ":" + std::to_string(s.masterPort);
  const std::string seconds = std::to_string(static_cast<int>(s.joinTimeoutSeconds));
  std::string message;
  if (detail.find("ddress already in use") != std::string::npos) {
    message = "rank 0 cannot listen on port " + std::to_string(s.masterPort) +
              ": the port is in use (another job, or a leftover process); set MASTER_PORT to a free port";
  } else if (s.rank != 0 && (detail.find("connect") != std::string::npos || detail.find("refused") != std::string::npos)) {
    message = "rank " + std::to_string(s.rank) + " cannot reach the master at " + where + " within " + seconds +
              " s: check MASTER_ADDR and MASTER_PORT, that rank 0 was started, and that the port is open between the hosts";
  } else if (detail.find("imed out") != std::string::npos || detail.find("imeout") != std::string::npos) {
    message = "not every one of the " + std::to_string(s.worldSize) + " ranks joined at " + where + " within " +
              seconds + " s: start every rank with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE";
  } else {
    message = "rank " + std::to_string(s.rank) + " cannot join the job at " + where;
  }
  throw CodedError("ERR_DISTRIBUTED", message + " (c10d: " + detail + ")");
}

// Counts this rank in and waits until every rank has, until `deadline`.
void AwaitRanks(c10d::Store& store, const GroupSpec& s, std::chrono::steady_clock::time_point deadline) {
  const std::string key = "mars/joined";
  int64_t joined = 0;
  try {
    store.add(key, 1);
    while ((joined = store.add(key, 0)) < s.worldSize && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(20));
    }
  } catch (...) {
    JoinFailed(s, Describe(std::current_exception()));
  }
  if (joined >= s.worldSize) return;
  throw CodedError("ERR_DISTRIBUTED", "not every one of the " + std::to_string(s.worldSize) + " ranks joined at " +
                                          s.masterAddr + ":" + std::to_string(s.masterPort) + " within " +
                                          std::to_string(static_cast<int>(s.joinTimeoutSeconds)) + " s (" +
                                          std::to_string(joined) + " did): start every rank with the same "
                                          "MASTER_ADDR, MASTER_PORT and WORLD_SIZE");
}

c10::intrusive_ptr<Comm> MakeBackend(const GroupSpec& s, const c10::intrusive_ptr<c10d::Store>& store, milliseconds timeout) {
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>(s.backend + "/", store);
  if (s.backend == "gloo") {
#ifdef MARS_WITH_GLOO
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(!s.interface.empty() ? c10d::ProcessGroupGloo::createDeviceForInterface(s.interface)
                               : !s.host.empty()    ? c10d::ProcessGroupGloo::createDeviceForHostname(s.host)
                                                    : c10d::ProcessGroupGloo::createDefaultDevice());
    return c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, s.rank, s.worldSize, options);
#else
    throw CodedError("ERR_DISTRIBUTED", "this build of the addon has no Gloo (its headers were not found at build time): install libgloo-dev (Debian/Ubuntu) and rebuild with `npx mars-ft build`");
#endif
  }
#ifdef MARS_WITH_NCCL
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, s.rank, s.worldSize, options);
#else
  throw CodedError("ERR_DISTRIBUTED", "this build of the addon has no NCCL: it needs a CUDA LibTorch with NCCL (use backend 'gloo' on CPU)");
#endif
}

}  // namespace

// Publishes "<beats> <sequence>" under beat/<rank> every interval, on its own
// store connection (the compute thread's may be blocked in a long wait). It is
// detached: a store that went away may block it for a while, and leaving the
// job must not wait for that.
struct Heartbeat {
  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;
  std::atomic<int64_t> sequence{0};

  static void Run(std::shared_ptr<Heartbeat> self, c10::intrusive_ptr<c10d::Store> store, int rank, milliseconds every) {
    for (int64_t beats = 1;; ++beats) {
      try {
        store->set(BeatKey(rank), Bytes(std::to_string(beats) + " " + std::to_string(self->sequence.load())));
      } catch (...) {
        // The master is gone; the compute thread's next collective reports it.
      }
      std::unique_lock<std::mutex> lock(self->mutex);
      if (self->wake.wait_for(lock, every, [&] { return self->stop; })) return;
    }
  }
};

DistributedGroup::DistributedGroup(const GroupSpec& spec) : spec_(spec) {
  const milliseconds timeout = Ms(spec.timeoutSeconds);
  beatInterval_ = std::clamp(timeout / 40, milliseconds(50), milliseconds(2000));
  // The backend gives up a little before the timeout, leaving time to find the rank to blame.
  const milliseconds backendTimeout = timeout - 4 * beatInterval_;
  const auto joinDeadline = std::chrono::steady_clock::now() + Ms(spec.joinTimeoutSeconds);
  c10::intrusive_ptr<c10d::TCPStore> tcp;
  if (spec.rank != 0 && !AwaitMaster(spec, joinDeadline)) JoinFailed(spec, "could not connect to the master");
  try {
    const auto left = std::chrono::duration_cast<milliseconds>(joinDeadline - std::chrono::steady_clock::now());
    tcp = Connect(spec, spec.rank == 0, std::max(left, milliseconds(1000)));
  } catch (...) {
    JoinFailed(spec, Describe(std::current_exception()));
  }
  AwaitRanks(*tcp, spec, joinDeadline);
  tcp->setTimeout(backendTimeout);
  store_ = c10::make_intrusive<c10d::PrefixStore>("mars/", tcp);
  try {
    auto beatStore = c10::make_intrusive<c10d::PrefixStore>("mars/", Connect(spec, false, backendTimeout));
    heartbeat_ = std::make_shared<Heartbeat>();
    std::thread(Heartbeat::Run, heartbeat_, beatStore, spec.rank, beatInterval_).detach();
    comm_ = MakeBackend(spec, store_, backendTimeout);
  } catch (const CodedError&) {
    throw;
  } catch (...) {
    Fail("joining the " + spec.backend + " group", Describe(std::current_exception()));
  }
}

DistributedGroup::~DistributedGroup() { Shutdown(); }

void DistributedGroup::Shutdown() {
  if (heartbeat_) {
    {
      std::lock_guard<std::mutex> lock(heartbeat_->mutex);
      heartbeat_->stop = true;
    }
    heartbeat_->wake.notify_all();
    heartbeat_.reset();
  }
  comm_.reset();
  store_.reset();
}

c10::intrusive_ptr<Comm>& DistributedGroup::comm(const char* what) {
  if (!comm_) throw CodedError("ERR_DISTRIBUTED", std::string(what) + ": this rank has already left the job");
  ++sequence_;
  heartbeat_->sequence.store(sequence_);
  return comm_;
}

void DistributedGroup::Wait(Works& works, const char* what) {
  try {
    for (auto& w : works) w->wait();
  } catch (...) {
    Fail(what, Describe(std::current_exception()));
  }
}

// Packs `tensors` into flat buckets of one dtype and device, runs `start` on
// each (returning its Work), waits for all, and copies the results back.
template <typename Start>
void DistributedGroup::Coalesced(const std::vector<at::Tensor>& tensors, const char* what, Start start) {
  std::vector<std::vector<at::Tensor>> buckets;
  for (const auto& t : tensors) {
    auto fits = [&](const std::vector<at::Tensor>& b) {
      size_t bytes = 0;
      for (const auto& u : b) bytes += u.numel() * u.element_size();
      return b.front().scalar_type() == t.scalar_type() && b.front().device() == t.device() &&
             bytes + t.numel() * t.element_size() <= kBucketBytes;
    };
    auto open = std::find_if(buckets.begin(), buckets.end(), fits);
    if (open == buckets.end()) buckets.push_back({t});
    else open->push_back(t);
  }
  std::vector<at::Tensor> flats;
  Works works;
  for (const auto& b : buckets) {
    flats.push_back(at::flatten_dense_tensors(b));
    std::vector<at::Tensor> io{flats.back()};
    works.push_back(start(io));
  }
  Wait(works, what);
  for (size_t i = 0; i < buckets.size(); ++i) {
    const auto parts = at::unflatten_dense_tensors(flats[i], buckets[i]);
    for (size_t j = 0; j < parts.size(); ++j) buckets[i][j].copy_(parts[j]);
  }
}

void DistributedGroup::AllReduceSum(const std::vector<at::Tensor>& tensors, const char* what) {
  at::NoGradGuard noGrad;
  auto& c = comm(what);
  Coalesced(tensors, what, [&](std::vector<at::Tensor>& io) { return c->allreduce(io); });
}

void DistributedGroup::Broadcast(const std::vector<at::Tensor>& tensors, int root, const char* what) {
  at::NoGradGuard noGrad;
  auto& c = comm(what);
  c10d::BroadcastOptions options;
  options.rootRank = root;
  Coalesced(tensors, what, [&](std::vector<at::Tensor>& io) { return c->broadcast(io, options); });
}

void DistributedGroup::Barrier() {
  Works works{comm("barrier")->barrier()};
  Wait(works, "barrier");
}

std::vector<std::string> DistributedGroup::Exchange(const std::string& key, const std::string& value) {
  comm("exchange");
  std::vector<std::string> keys, all;
  for (int r = 0; r < spec_.worldSize; ++r) keys.push_back(key + "/" + std::to_string(r));
  try {
    store_->set(keys[spec_.rank], Bytes(value));
    store_->wait(keys);  // one timeout for all of them
    for (const auto& k : keys) all.push_back(Text(store_->get(k)));
  } catch (...) {
    Fail("exchanging " + key, Describe(std::current_exception()));
  }
  return all;
}

void DistributedGroup::ReportFailure(const std::string& message) {
  if (!store_) return;
  try {
    store_->set(FailedKey(spec_.rank), Bytes(message));
  } catch (...) {
    // Best effort: the store may be gone with rank 0.
  }
}

// Which rank made a collective fail: one that reported why it stopped, one
// whose heartbeat stopped (exited, killed, frozen), or one still alive but
// behind in the sequence of collectives (stuck). Empty when none stands out.
// However many ranks there are, it ends soon after the timeout (the backend
// gave up four heartbeats before it): each of its two looks at the ranks stops
// after half a heartbeat or half a second, whichever is longer, and a rank not
// looked at in both is not judged.
std::string DistributedGroup::Blame() {
  using Clock = std::chrono::steady_clock;
  struct Beat {
    bool read = false;
    int64_t beats = -1, sequence = -1;
  };
  std::string reported;
  auto look = [&]() {
    std::vector<Beat> beats(spec_.worldSize);
    const auto until = Clock::now() + std::max<milliseconds>(beatInterval_ / 2, milliseconds(500));
    for (int r = 0; r < spec_.worldSize && reported.empty() && Clock::now() < until; ++r) {
      if (r == spec_.rank) continue;
      if (store_->check({FailedKey(r)})) reported = "rank " + std::to_string(r) + " stopped: " + Text(store_->get(FailedKey(r)));
      beats[r].read = true;
      if (store_->check({BeatKey(r)})) std::istringstream(Text(store_->get(BeatKey(r)))) >> beats[r].beats >> beats[r].sequence;
    }
    return beats;
  };
  try {
    store_->setTimeout(3 * beatInterval_);
    const auto before = look();
    if (!reported.empty()) return reported;
    std::this_thread::sleep_for(3 * beatInterval_);
    const auto after = look();
    if (!reported.empty()) return reported;
    std::string silent, behind;
    for (int r = 0; r < spec_.worldSize; ++r) {
      if (!before[r].read || !after[r].read) continue;
      if (after[r].beats == before[r].beats) silent += (silent.empty() ? "" : ", ") + std::to_string(r);
      else if (after[r].sequence < sequence_) behind += (behind.empty() ? "" : ", ") + std::to_string(r);
    }
    if (!silent.empty()) return "rank " + silent + " stopped responding (its process exited, was killed or is frozen)";
    if (!behind.empty()) return "rank " + behind + " is alive but did not reach collective #" + std::to_string(sequence_) + " (stuck, or far slower than the others)";
    return "";
  } catch (...) {
    return "rank 0, which hosts the job's store at " + spec_.masterAddr + ":" + std::to_string(spec_.masterPort) +
           ", is unreachable (its process exited or its host is down)";
  }
}

void DistributedGroup::Fail(const std::string& what, const std::string& detail) {
  std::string blame = store_ ? Blame() : "";
  if (blame.empty()) blame = "no other rank is known to have failed";
  throw CodedError("ERR_DISTRIBUTED", what + " failed on rank " + std::to_string(spec_.rank) + ": " + blame +
                                          " (c10d: " + detail + ")");
}

}  // namespace mars
