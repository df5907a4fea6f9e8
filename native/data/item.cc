// The item pipeline of the native image path. JPEG files whose first pass
// shrinks a lot are decoded smaller in the DCT domain (libjpeg-turbo's scaled
// IDCT, "shrink on load"): by the largest of 1/2, 1/4, 1/8 that still leaves
// at least twice the output size for the antialiased resize, which then
// works from the scaled image with the crop box scaled alike.
#include "data/item.h"

#include <algorithm>

#include "data/resample.h"

namespace mars::image {
namespace {

int ShrinkOnLoad(const Header& header, const Stage& first) {
  if (header.format != Format::kJpeg) return 1;
  const double w = first.hasCrop ? first.crop.width : header.width;
  const double h = first.hasCrop ? first.crop.height : header.height;
  const double factor = std::min(w / first.width, h / first.height);
  for (int shrink : {8, 4, 2}) {
    if (factor / shrink >= 2) return shrink;
  }
  return 1;
}

// The image after the plan's resampling passes (decoding included).
Image Resampled(const std::vector<uint8_t>& file, const Header& header, const ItemPlan& plan) {
  const int shrink = plan.stages.empty() ? 1 : ShrinkOnLoad(header, plan.stages[0]);
  Image image = Decode(file, header, shrink);
  for (size_t i = 0; i < plan.stages.size(); i++) {
    const Stage& s = plan.stages[i];
    const Rect r = s.hasCrop ? s.crop : Rect{0, 0, header.width, header.height};
    if (i == 0 && shrink > 1) {
      // The scaled image is ceil(size / shrink): map the crop onto it by the true ratio.
      const float sx = static_cast<float>(image.width) / header.width, sy = static_cast<float>(image.height) / header.height;
      const Box box{r.left * sx, r.top * sy, (r.left + r.width) * sx, (r.top + r.height) * sy};
      image = Resample(View::Of(image), box, s.width, s.height);
    } else {
      const Rect crop = s.hasCrop ? s.crop : Rect{0, 0, image.width, image.height};
      const Box box{0, 0, static_cast<float>(crop.width), static_cast<float>(crop.height)};
      image = Resample(View::Of(image).Crop(crop), box, s.width, s.height);
    }
  }
  return image;
}

}  // namespace

std::vector<int64_t> ItemShape(const Header& header, const ItemPlan& plan) {
  int width = header.width, height = header.height;
  if (!plan.stages.empty()) width = plan.stages.back().width, height = plan.stages.back().height;
  if (plan.hasCrop) width = plan.crop.width, height = plan.crop.height;
  return {plan.channels, height, width};
}

void WriteItem(const std::vector<uint8_t>& file, const Header& header, const ItemPlan& plan, float* out) {
  const Image image = Resampled(file, header, plan);
  const View view = plan.hasCrop ? View::Of(image).Crop(plan.crop) : View::Of(image);
  const int from = view.channels, to = plan.channels;
  const float* table = plan.table->data();
  const ptrdiff_t step = plan.flip ? -from : from;
  const size_t plane = static_cast<size_t>(view.width) * view.height;
  for (int y = 0; y < view.height; y++) {
    const uint8_t* first = view.Row(y) + (plan.flip ? static_cast<ptrdiff_t>(view.width - 1) * from : 0);
    for (int c = 0; c < to; c++) {
      float* dst = out + c * plane + static_cast<size_t>(y) * view.width;
      const float* t = table + c * 256;
      const uint8_t* p = first;
      if (from == to) {
        for (int x = 0; x < view.width; x++, p += step) dst[x] = t[p[c]];
      } else if (from == 1) {  // grey → RGB repeats the value
        for (int x = 0; x < view.width; x++, p += step) dst[x] = t[*p];
      } else {  // RGB → grey: PIL's convert('L'), ITU-R 601-2 luma in 16-bit fixed point (pixels.ts)
        for (int x = 0; x < view.width; x++, p += step) dst[x] = t[(p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16];
      }
    }
  }
}

}  // namespace mars::image
