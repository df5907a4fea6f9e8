// Resampling for the native image path (see resample.cc).
#pragma once

#include <cstddef>
#include <cstdint>

#include "data/image.h"

namespace mars::image {

// A rectangle of an image's pixels, without copying them: a crop is a view.
struct View {
  const uint8_t* origin = nullptr;  // first pixel of the first row
  size_t stride = 0;                // bytes from one row to the next
  int width = 0, height = 0, channels = 0;
  const uint8_t* Row(int y) const { return origin + static_cast<size_t>(y) * stride; }

  static View Of(const Image& image) {
    return {image.pixels.data(), static_cast<size_t>(image.width) * image.channels, image.width, image.height,
            image.channels};
  }
  View Crop(const Rect& r) const { return {Row(r.top) + static_cast<size_t>(r.left) * channels, stride, r.width, r.height, channels}; }
};

// The part of the input to map onto the output, in input pixels (x0, y0, x1, y1): Pillow's `box`.
struct Box {
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// PIL's Image.resize((width, height), BILINEAR, box) of `in`, pixel for pixel.
Image Resample(const View& in, const Box& box, int width, int height);

}  // namespace mars::image
