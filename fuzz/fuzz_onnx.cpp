// libFuzzer target: the ONNX importer (load_onnx_bytes) on arbitrary bytes. Every input must either
// import or throw convkit::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "convkit/io/onnx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    convkit::io::load_onnx_bytes(std::string(reinterpret_cast<const char*>(data), size),
                                 "fuzz.onnx");
  } catch (const convkit::Error&) {
  }
  return 0;
}
