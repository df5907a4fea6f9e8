// Antialiased bilinear resampling as Pillow computes it (Resample.c,
// ImagingResample with the BILINEAR filter on 8-bit images), which is what
// torchvision's Resize does to PIL images: a triangle filter widened by the
// scale when shrinking, coefficients normalised per output pixel and rounded
// to 22-bit fixed point, a horizontal pass into an 8-bit image of the rows the
// vertical pass needs, then the vertical pass, each rounding and clamping to
// 8 bits. Following it step by step gives PIL's pixels exactly.
#include "data/resample.h"

#include <algorithm>
#include <cmath>

namespace mars::image {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

struct Coefficients {
  int size = 0;                 // taps per output pixel (the widest window)
  std::vector<int> bounds;      // per output pixel: first input index, number of taps
  std::vector<int32_t> weights; // per output pixel: `size` fixed-point weights
};

double Triangle(double x) {
  x = std::abs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Pillow's precompute_coeffs + normalize_coeffs_8bpc for input positions
// [in0, in1) of an axis of `inSize` pixels mapped onto `outSize` pixels.
Coefficients Precompute(int inSize, float in0, float in1, int outSize) {
  const double scale = static_cast<double>(in1 - in0) / outSize;
  const double filterScale = std::max(scale, 1.0);
  const double support = 1.0 * filterScale;
  Coefficients c;
  c.size = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(2 * static_cast<size_t>(outSize));
  c.weights.assign(static_cast<size_t>(outSize) * c.size, 0);
  std::vector<double> k(c.size);
  for (int xx = 0; xx < outSize; xx++) {
    const double centre = in0 + (xx + 0.5) * scale;
    const double ss = 1.0 / filterScale;
    const int xmin = std::max(static_cast<int>(centre - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(centre + support + 0.5), inSize) - xmin;
    double sum = 0.0;
    for (int x = 0; x < xmax; x++) sum += k[x] = Triangle((x + xmin - centre + 0.5) * ss);
    for (int x = 0; x < xmax; x++) {
      const double w = sum != 0.0 ? k[x] / sum : k[x];
      c.weights[static_cast<size_t>(xx) * c.size + x] =
          static_cast<int32_t>(w < 0 ? -0.5 + w * (1 << kPrecisionBits) : 0.5 + w * (1 << kPrecisionBits));
    }
    c.bounds[2 * xx] = xmin;
    c.bounds[2 * xx + 1] = xmax;
  }
  return c;
}

inline uint8_t Clip8(int32_t v) {
  const int32_t x = v >> kPrecisionBits;
  return static_cast<uint8_t>(x < 0 ? 0 : x > 255 ? 255 : x);
}

// Rows [first, first + out.height) of `in` resampled horizontally into `out`.
template <int C>
void Horizontal(const View& in, int first, const Coefficients& c, Image& out) {
  for (int y = 0; y < out.height; y++) {
    const uint8_t* src = in.Row(y + first);
    uint8_t* dst = out.Row(y);
    for (int xx = 0; xx < out.width; xx++) {
      const int xmin = c.bounds[2 * xx], n = c.bounds[2 * xx + 1];
      const int32_t* k = &c.weights[static_cast<size_t>(xx) * c.size];
      int32_t ss[C];
      for (int ch = 0; ch < C; ch++) ss[ch] = 1 << (kPrecisionBits - 1);
      const uint8_t* p = src + xmin * C;
      for (int x = 0; x < n; x++, p += C) {
        for (int ch = 0; ch < C; ch++) ss[ch] += p[ch] * k[x];
      }
      for (int ch = 0; ch < C; ch++) dst[xx * C + ch] = Clip8(ss[ch]);
    }
  }
}

// `in` resampled vertically into `out` (same width); `c.bounds` index rows of `in`.
void Vertical(const View& in, const Coefficients& c, Image& out) {
  const int rowBytes = out.width * out.channels;
  std::vector<int32_t> ss(rowBytes);
  for (int yy = 0; yy < out.height; yy++) {
    const int ymin = c.bounds[2 * yy], n = c.bounds[2 * yy + 1];
    const int32_t* k = &c.weights[static_cast<size_t>(yy) * c.size];
    std::fill(ss.begin(), ss.end(), 1 << (kPrecisionBits - 1));
    for (int y = 0; y < n; y++) {
      const uint8_t* src = in.Row(ymin + y);
      const int32_t w = k[y];
      for (int i = 0; i < rowBytes; i++) ss[i] += src[i] * w;
    }
    uint8_t* dst = out.Row(yy);
    for (int i = 0; i < rowBytes; i++) dst[i] = Clip8(ss[i]);
  }
}

}  // namespace

Image Resample(const View& in, const Box& box, int width, int height) {
  Coefficients horizontal = Precompute(in.width, box.x0, box.x1, width);
  Coefficients vertical = Precompute(in.height, box.y0, box.y1, height);
  // Pillow's tests, kept as they are: a pass runs when its size or its box edge differs.
  const bool needHorizontal = width != in.width || box.x0 != 0 || box.x1 != width;
  const bool needVertical = height != in.height || box.y0 != 0 || box.y1 != height;
  const int first = vertical.bounds[0];
  const int last = vertical.bounds[2 * height - 2] + vertical.bounds[2 * height - 1];

  Image temp;
  View source = in;
  if (needHorizontal) {
    for (int i = 0; i < height; i++) vertical.bounds[2 * i] -= first;
    temp.width = width;
    temp.height = last - first;
    temp.channels = in.channels;
    temp.pixels.resize(static_cast<size_t>(temp.width) * temp.height * temp.channels);
    if (in.channels == 1) Horizontal<1>(in, first, horizontal, temp);
    else Horizontal<3>(in, first, horizontal, temp);
    source = View::Of(temp);
  }
  Image out;
  out.width = source.width;
  out.height = needVertical ? height : source.height;
  out.channels = in.channels;
  out.pixels.resize(static_cast<size_t>(out.width) * out.height * out.channels);
  if (needVertical) {
    Vertical(source, vertical, out);
  } else {
    for (int y = 0; y < out.height; y++) std::copy_n(source.Row(y), out.width * out.channels, out.Row(y));
  }
  return out;
}

}  // namespace mars::image
