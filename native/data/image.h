// Images as the data loader's native path sees them, without LibTorch:
// 8-bit interleaved pixels, the formats it decodes (JPEG with libjpeg-turbo's
// TurboJPEG API, PNG with libpng), and what goes wrong reading a file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mars::image {

enum class Format { kJpeg, kPng, kOther };

// What a file holds, read from its first bytes. `channels` is what Decode
// gives: 1 for grey files, 3 for colour (alpha is dropped, as PIL's
// convert('RGB') drops it).
struct Header {
  Format format = Format::kOther;
  int width = 0, height = 0, channels = 3;
};

// An allocator that leaves new elements uninitialised. Every pixel buffer is
// written in full before it is read; zeroing it first would commit the memory
// of every pixel a file's header claims before its data prove they exist (a
// 68-byte PNG claiming 16000×16000 pixels took 770 MB that way, now a few).
template <typename T>
struct Uninitialised : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = Uninitialised<U>;
  };
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0) {
      ::new (static_cast<void*>(p)) U;
    } else {
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
  }
};

// 8-bit pixels, rows of width × channels bytes, top to bottom.
struct Image {
  std::vector<uint8_t, Uninitialised<uint8_t>> pixels;
  int width = 0, height = 0, channels = 0;
  const uint8_t* Row(int y) const { return pixels.data() + static_cast<size_t>(y) * width * channels; }
  uint8_t* Row(int y) { return pixels.data() + static_cast<size_t>(y) * width * channels; }
};

struct Rect {
  int left = 0, top = 0, width = 0, height = 0;
};

// A file this path does not decode (WebP, CMYK JPEG, ...): the loader hands
// the item to sharp instead.
struct Unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A file that is not a readable image of its format (truncated, corrupt).
struct Corrupt : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A path that is not a regular file (a FIFO, a socket, a device): reading it
// could wait for a writer for ever, or never end.
struct NotRegular : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The whole file; std::system_error (errno, path in the message) when it
// cannot be read, NotRegular when it is not a regular file.
std::vector<uint8_t> ReadFile(const std::string& path);

// The format and size; Corrupt when a JPEG or PNG header is malformed.
Header ReadHeader(const std::vector<uint8_t>& file);

// Decodes the whole image. `shrink` (1, 2, 4 or 8, JPEG only) scales it down
// in the DCT domain while decoding: ceil(width / shrink) × ceil(height / shrink).
Image Decode(const std::vector<uint8_t>& file, const Header& header, int shrink);

}  // namespace mars::image
