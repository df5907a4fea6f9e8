// Reading and decoding files for the native image path: JPEG through
// TurboJPEG (the libjpeg-turbo that PIL also uses, with its defaults: accurate
// integer IDCT and fancy upsampling, so pixels agree with PIL's exactly), PNG
// through libpng's progressive-free reader.
#include <fcntl.h>
#include <png.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include <cerrno>
#include <csetjmp>
#include <cstring>
#include <memory>
#include <system_error>

#include "data/image.h"

namespace mars::image {
namespace {

constexpr uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// One TurboJPEG instance per thread: handles are not thread-safe and cheap to keep.
tjhandle Decompressor() {
  thread_local std::unique_ptr<void, int (*)(tjhandle)> handle(tjInitDecompress(), tjDestroy);
  if (!handle) throw std::runtime_error("cannot start TurboJPEG");
  return handle.get();
}

Header JpegHeader(const std::vector<uint8_t>& file) {
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  tjhandle tj = Decompressor();
  if (tjDecompressHeader3(tj, file.data(), file.size(), &width, &height, &subsampling, &colorspace) != 0) {
    throw Corrupt(std::string("not a readable JPEG: ") + tjGetErrorStr2(tj));
  }
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) throw Unsupported("CMYK JPEG");
  return {Format::kJpeg, width, height, colorspace == TJCS_GRAY ? 1 : 3};
}

Header PngHeader(const std::vector<uint8_t>& file) {
  // The signature, then IHDR: length, "IHDR", width, height, bit depth, colour type.
  if (file.size() < 33 || std::memcmp(file.data() + 12, "IHDR", 4) != 0) throw Corrupt("not a readable PNG: no IHDR chunk");
  const uint32_t width = BigEndian32(file.data() + 16), height = BigEndian32(file.data() + 20);
  // The PNG specification's range; beyond it the sizes would turn negative as ints.
  if (width == 0 || height == 0 || width > 0x7fffffff || height > 0x7fffffff) throw Corrupt("not a readable PNG: its size is out of range");
  const int colourType = file[25];
  const bool grey = colourType == PNG_COLOR_TYPE_GRAY || colourType == PNG_COLOR_TYPE_GRAY_ALPHA;
  return {Format::kPng, static_cast<int>(width), static_cast<int>(height), grey ? 1 : 3};
}

Image DecodeJpeg(const std::vector<uint8_t>& file, const Header& header, int shrink) {
  Image out;
  out.width = TJSCALED(header.width, (tjscalingfactor{1, shrink}));
  out.height = TJSCALED(header.height, (tjscalingfactor{1, shrink}));
  out.channels = header.channels;
  out.pixels.resize(static_cast<size_t>(out.width) * out.height * out.channels);
  tjhandle tj = Decompressor();
  // A warning (a truncated scan, say) fails the file, as sharp's failOn: 'warning' and PIL do.
  if (tjDecompress2(tj, file.data(), file.size(), out.pixels.data(), out.width, 0, out.height,
                    out.channels == 1 ? TJPF_GRAY : TJPF_RGB, TJFLAG_STOPONWARNING) != 0) {
    throw Corrupt(std::string("JPEG does not decode: ") + tjGetErrorStr2(tj));
  }
  return out;
}

struct PngSource {
  const std::vector<uint8_t>* file;
  size_t offset;
  char error[200];
};

void PngRead(png_structp png, png_bytep into, png_size_t length) {
  auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (source->offset + length > source->file->size()) png_error(png, "file is truncated");
  std::memcpy(into, source->file->data() + source->offset, length);
  source->offset += length;
}

void PngError(png_structp png, png_const_charp message) {
  auto* source = static_cast<PngSource*>(png_get_error_ptr(png));
  std::strncpy(source->error, message, sizeof(source->error) - 1);
  png_longjmp(png, 1);
}

void PngWarning(png_structp, png_const_charp) {}

// libpng reports errors by longjmp: nothing between setjmp and the jump may
// own memory, so the pixels belong to the caller. Rows are read one at a time
// (each pass of an interlaced file over all of them), without an array of
// row pointers: that array alone would take 8 bytes a row of the height the
// header claims, before a single row is known to exist.
bool ReadPngRows(png_structp png, png_infop info, Image& out) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  const int colourType = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  if (colourType == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (colourType == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (depth == 16) png_set_scale_16(png);  // 16-bit samples scaled to 8 bits, as sharp does
  png_set_strip_alpha(png);                // alpha dropped, not composited, as PIL's convert('RGB')
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (static_cast<int>(png_get_channels(png, info)) != out.channels) png_error(png, "unexpected channel count");
  out.pixels.resize(static_cast<size_t>(out.width) * out.height * out.channels);
  for (int pass = 0; pass < passes; pass++) {
    for (int y = 0; y < out.height; y++) png_read_row(png, out.Row(y), nullptr);
  }
  png_read_end(png, nullptr);
  return true;
}

Image DecodePng(const std::vector<uint8_t>& file, const Header& header) {
  PngSource source{&file, 0, {0}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, PngError, PngWarning);
  if (png == nullptr) throw std::runtime_error("cannot start libpng");
  png_infop info = png_create_info_struct(png);
  png_set_read_fn(png, &source, PngRead);
  Image out;
  out.width = header.width;
  out.height = header.height;
  out.channels = header.channels;
  const bool ok = info != nullptr && ReadPngRows(png, info, out);
  png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
  if (!ok) throw Corrupt(std::string("PNG does not decode: ") + source.error);
  return out;
}

}  // namespace

std::vector<uint8_t> ReadFile(const std::string& path) {
  // O_NONBLOCK: opening a FIFO without it waits for a writer, for ever, on a
  // thread nothing can interrupt. The opened descriptor is what is checked,
  // so the path cannot be swapped for another file in between.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open '" + path + "'");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    throw std::system_error(error, std::generic_category(), "stat '" + path + "'");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw NotRegular("'" + path + "' is not a regular file (a FIFO, a socket or a device), so it is not read");
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  for (;;) {
    if (done == bytes.size()) bytes.resize(bytes.size() + 65536);  // the file grew
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      throw std::system_error(error, std::generic_category(), "read '" + path + "'");
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  bytes.resize(done);
  return bytes;
}

Header ReadHeader(const std::vector<uint8_t>& file) {
  if (file.size() >= 3 && file[0] == 0xff && file[1] == 0xd8 && file[2] == 0xff) return JpegHeader(file);
  if (file.size() >= 8 && std::memcmp(file.data(), kPngSignature, 8) == 0) return PngHeader(file);
  return {};
}

Image Decode(const std::vector<uint8_t>& file, const Header& header, int shrink) {
  switch (header.format) {
    case Format::kJpeg: return DecodeJpeg(file, header, shrink);
    case Format::kPng: return DecodePng(file, header);
    default: throw Unsupported("not JPEG or PNG");
  }
}

}  // namespace mars::image
