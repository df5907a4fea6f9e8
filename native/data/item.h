// One loader item from file to floats (native/data/item.cc): the geometry
// planned by lib/data/geometry.ts, carried out on the image threads.
#pragma once

#include <memory>
#include <vector>

#include "data/image.h"

namespace mars::image {

// One resampling pass: crop (the whole image when `crop` is empty), then resize to width × height.
struct Stage {
  bool hasCrop = false;
  Rect crop;
  int width = 0, height = 0;
};

struct ItemPlan {
  std::vector<Stage> stages;
  bool hasCrop = false;  // the crop after the last stage
  Rect crop;
  bool flip = false;
  int channels = 3;  // of the batch
  // table[c * 256 + v]: what value v of channel c becomes (lib/data/pixels.ts, valueTable).
  std::shared_ptr<const std::vector<float>> table;
};

// [channels, height, width] of the item `plan` makes from an image of `header`'s size.
std::vector<int64_t> ItemShape(const Header& header, const ItemPlan& plan);

// Decodes `file` and writes the item as floats, channel by channel (CHW), at `out`.
void WriteItem(const std::vector<uint8_t>& file, const Header& header, const ItemPlan& plan, float* out);

}  // namespace mars::image
