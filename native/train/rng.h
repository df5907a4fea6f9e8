// A run's own random streams. LibTorch's ops (dropout, random transforms in a
// network) draw from the process's default generators, and a TorchScript
// network offers no way to pass another one. Every LibTorch call of this addon
// runs on the one compute thread, one job at a time, so installing the run's
// state into the default generators for the length of its step, and taking it
// back afterwards, gives each run a stream of its own: two runs in one
// process never disturb each other, nor anyone's manualSeed.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

namespace mars {

class RunGenerator {
 public:
  RunGenerator() = default;
  // Streams for the CPU and, when `device` is a CUDA device, for it too.
  RunGenerator(uint64_t seed, const c10::Device& device);

  // Runs `body` with this run's streams installed in the default generators.
  template <typename F>
  auto Run(F&& body) -> decltype(body()) {
    Installed installed(*this);
    return body();
  }

  // The streams' state as bytes (for checkpoints), and back. A state saved on
  // other devices restores the streams it shares with this run and leaves the others.
  std::string State() const;
  void SetState(const std::string& bytes);

 private:
  struct Installed {
    explicit Installed(RunGenerator& run);
    ~Installed();
    RunGenerator& run;
    std::vector<at::Tensor> saved;
  };
  std::vector<c10::Device> devices_;
  std::vector<at::Tensor> states_;
};

}  // namespace mars
