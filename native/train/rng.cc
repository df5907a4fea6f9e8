#include "train/rng.h"

#include <cstring>
#include <mutex>

#include "core/errors.h"

namespace mars {
namespace {

at::Generator DefaultGenerator(const c10::Device& device) { return at::globalContext().defaultGenerator(device); }

at::Tensor GetState(at::Generator generator) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void SetState(at::Generator generator, const at::Tensor& state) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

}  // namespace

RunGenerator::RunGenerator(uint64_t seed, const c10::Device& device) {
  devices_.push_back(c10::Device(c10::kCPU));
  if (device.is_cuda()) devices_.push_back(device);
  for (const auto& d : devices_) {
    at::Generator generator = DefaultGenerator(d);
    const at::Tensor saved = GetState(generator);
    {
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_current_seed(seed);
    }
    states_.push_back(GetState(generator));
    mars::SetState(generator, saved);
  }
}

RunGenerator::Installed::Installed(RunGenerator& r) : run(r) {
  for (size_t i = 0; i < run.devices_.size(); ++i) {
    at::Generator generator = DefaultGenerator(run.devices_[i]);
    saved.push_back(GetState(generator));
    mars::SetState(generator, run.states_[i]);
  }
}

RunGenerator::Installed::~Installed() {
  for (size_t i = 0; i < saved.size(); ++i) {
    try {
      at::Generator generator = DefaultGenerator(run.devices_[i]);
      run.states_[i] = GetState(generator);
      mars::SetState(generator, saved[i]);
    } catch (...) {
      // Reading or writing a generator's state does not fail in practice; a destructor must not throw.
    }
  }
}

// Layout: per device, its type (1 byte), the state's length (8 bytes) and the state.
std::string RunGenerator::State() const {
  std::string out;
  for (size_t i = 0; i < devices_.size(); ++i) {
    const at::Tensor state = states_[i].contiguous();
    const uint64_t length = static_cast<uint64_t>(state.numel());
    out.push_back(static_cast<char>(devices_[i].type()));
    out.append(reinterpret_cast<const char*>(&length), sizeof length);
    out.append(reinterpret_cast<const char*>(state.data_ptr<uint8_t>()), length);
  }
  return out;
}

void RunGenerator::SetState(const std::string& bytes) {
  size_t at = 0;
  while (at < bytes.size()) {
    uint64_t length = 0;
    if (at + 1 + sizeof length > bytes.size()) throw CodedError("ERR_CHECKPOINT", "the checkpoint's random state is damaged");
    const auto type = static_cast<c10::DeviceType>(bytes[at]);
    std::memcpy(&length, bytes.data() + at + 1, sizeof length);
    at += 1 + sizeof length;
    if (length > bytes.size() - at) throw CodedError("ERR_CHECKPOINT", "the checkpoint's random state is damaged");
    for (size_t i = 0; i < devices_.size(); ++i) {
      if (devices_[i].type() != type) continue;
      if (static_cast<uint64_t>(states_[i].numel()) != length) {
        throw CodedError("ERR_CHECKPOINT", "the checkpoint's random state does not fit this LibTorch");
      }
      at::Tensor state = at::empty({static_cast<int64_t>(length)}, at::kByte);
      std::memcpy(state.data_ptr<uint8_t>(), bytes.data() + at, length);
      states_[i] = state;
    }
    at += length;
  }
}

}  // namespace mars
