// libFuzzer target: the IDX reader (MNIST's format, already gunzipped) on arbitrary bytes. Every
// input must either load or throw convkit::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "convkit/data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    convkit::data::parse_idx({reinterpret_cast<const char*>(data), size}, "fuzz.idx");
  } catch (const convkit::Error&) {
  }
  return 0;
}
