// TIFF through libtiff directly. Through OpenCV's imdecode, the pixel limit could only be checked
// against the probe's reading of the header, and libtiff reads more than a probe should: a width
// stored as LONG8 in a classic TIFF is an offset to the value, a duplicate tag, a later IFD. CI's
// fuzz step found such a file that the probe passed and OpenCV decoded into a 3 GB buffer. Here the
// limit is checked against the size libtiff itself will decode, and every allocation libtiff makes
// is capped, before any pixel is read.
#include <tiffio.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "convkit/data/image_file.h"
#include "convkit/error.h"
#include "image_codecs.h"

namespace convkit::data::codec {
namespace {

// The bytes libtiff reads through its client callbacks, and the first error it reported.
struct Source {
  std::string_view bytes;
  uint64_t pos = 0;
  std::string error;
};

tmsize_t read_cb(thandle_t h, void* buf, tmsize_t n) {
  auto& s = *static_cast<Source*>(h);
  if (n <= 0 || s.pos >= s.bytes.size()) return 0;
  const uint64_t k = std::min<uint64_t>(uint64_t(n), s.bytes.size() - s.pos);
  std::memcpy(buf, s.bytes.data() + s.pos, k);
  s.pos += k;
  return tmsize_t(k);
}
tmsize_t write_cb(thandle_t, void*, tmsize_t) { return -1; }
toff_t seek_cb(thandle_t h, toff_t off, int whence) {
  auto& s = *static_cast<Source*>(h);
  // toff_t is unsigned: a negative offset from SEEK_CUR/SEEK_END arrives wrapped, as libtiff's own
  // file callbacks receive it; the sum wraps back.
  const uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? s.pos : s.bytes.size();
  s.pos = base + off;
  return s.pos;
}
int close_cb(thandle_t) { return 0; }
toff_t size_cb(thandle_t h) { return static_cast<Source*>(h)->bytes.size(); }

int on_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  auto& s = *static_cast<Source*>(user);
  if (s.error.empty()) {
    char msg[512];
    std::vsnprintf(msg, sizeof msg, fmt, ap);
    s.error = module && *module ? std::string(module) + ": " + msg : std::string(msg);
  }
  return 1;  // handled: nothing reaches stderr
}
int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

struct TiffCloser {
  void operator()(TIFF* t) const { TIFFClose(t); }
};
struct OptionsFree {
  void operator()(TIFFOpenOptions* o) const { TIFFOpenOptionsFree(o); }
};

}  // namespace

cv::Mat decode_tiff(std::string_view bytes, const std::string& path, int64_t max_pixels) {
  Source src;
  src.bytes = bytes;
  std::unique_ptr<TIFFOpenOptions, OptionsFree> opts(TIFFOpenOptionsAlloc());
  TIFFOpenOptionsSetErrorHandlerExtR(opts.get(), on_error, &src);
  TIFFOpenOptionsSetWarningHandlerExtR(opts.get(), on_warning, &src);
  // A strip or tile of the largest allowed image at 4 samples of 32 bits, and never less than
  // 16 MiB (directory arrays, codec state): larger requests come from fuzzed fields.
  const int64_t cap = std::clamp<int64_t>(max_pixels, 1 << 20, int64_t(1) << 26) * 16;
  TIFFOpenOptionsSetMaxSingleMemAlloc(opts.get(), tmsize_t(cap));
  auto fail = [&](const char* what) {
    const bool cut = src.error.find("Read error") != std::string::npos ||
                     src.error.find("past end") != std::string::npos ||
                     src.error.find("Seek error") != std::string::npos ||
                     src.error.find("Not enough data") != std::string::npos;
    throw ImageFileError(cut ? ImageProblem::truncated : ImageProblem::corrupt, path,
                         detail::concat(cut ? "truncated TIFF (" : "corrupt TIFF (", what,
                                        src.error.empty() ? "" : ": libtiff: ", src.error, ")"));
  };
  // "m": no memory mapping (the callbacks read from the bytes). Only the first IFD is read.
  std::unique_ptr<TIFF, TiffCloser> tif(TIFFClientOpenExt(path.c_str(), "rm", &src, read_cb,
                                                          write_cb, seek_cb, close_cb, size_cb,
                                                          nullptr, nullptr, opts.get()));
  if (!tif) fail("its header or first directory cannot be read");
  uint32_t w = 0, h = 0;
  TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &h);
  if (w == 0 || h == 0)
    throw ImageFileError(ImageProblem::corrupt, path,
                         detail::concat("TIFF header gives a size of ", w, " x ", h));
  if (uint64_t(w) * h > uint64_t(max_pixels))
    throw ImageFileError(ImageProblem::too_large, path, pixels_over_limit(w, h, max_pixels));
  char why[1024] = "";
  if (!TIFFRGBAImageOK(tif.get(), why))
    throw ImageFileError(ImageProblem::corrupt, path,
                         detail::concat("unsupported TIFF (libtiff: ", why, ")"));
  std::vector<uint32_t> abgr(size_t(w) * h);
  if (!TIFFReadRGBAImageOriented(tif.get(), w, h, abgr.data(), ORIENTATION_TOPLEFT,
                                 /*stop_on_error=*/1))
    fail("its image data cannot be decoded");
  uint16_t photometric = PHOTOMETRIC_RGB;
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_PHOTOMETRIC, &photometric);
  const bool gray = photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE;
  // Alpha is dropped, as for PNG and WebP.
  cv::Mat out(int(h), int(w), gray ? CV_8UC1 : CV_8UC3);
  for (uint32_t y = 0; y < h; ++y) {
    const uint32_t* in = abgr.data() + size_t(y) * w;
    uint8_t* row = out.ptr<uint8_t>(int(y));
    for (uint32_t x = 0; x < w; ++x) {
      if (gray) {
        row[x] = uint8_t(TIFFGetR(in[x]));
      } else {
        row[3 * x] = uint8_t(TIFFGetR(in[x]));
        row[3 * x + 1] = uint8_t(TIFFGetG(in[x]));
        row[3 * x + 2] = uint8_t(TIFFGetB(in[x]));
      }
    }
  }
  return out;
}

}  // namespace convkit::data::codec
