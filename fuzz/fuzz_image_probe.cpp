// libFuzzer target: the image header probe (every format's header parser, as a dataset scan runs
// it on a file's first and last bytes) and then the checked decode of the same bytes. Every input
// must either pass or throw convkit::ImageFileError.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <opencv2/core/utils/logger.hpp>
#include <string_view>

#include "convkit/data/image_file.h"

namespace {
// Small enough that a fuzzed header cannot make a decoder allocate much or run long.
constexpr int64_t kMaxPixels = int64_t(1) << 16;
}  // namespace

// OpenCV logs a warning line for each TIFF it cannot read; millions of them only slow the run.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convkit::data;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // As check_image_file sees a large file: a head that does not cover it all.
  probe_image(bytes.substr(0, std::min<size_t>(bytes.size(), 64)), uint64_t(bytes.size()) * 2);
  try {
    decode_image(bytes, "fuzz.img", ColorMode::rgb, kMaxPixels);
  } catch (const ImageFileError&) {
  }
  return 0;
}
