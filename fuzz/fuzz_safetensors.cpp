// libFuzzer target: the safetensors reader on arbitrary bytes. Every input must either load or
// throw convkit::Error; a crash, a sanitizer report or any other exception is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "convkit/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    convkit::io::parse_safetensors({reinterpret_cast<const char*>(data), size}, "fuzz.safetensors");
  } catch (const convkit::Error&) {
  }
  return 0;
}
