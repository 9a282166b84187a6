// libFuzzer target: the CSV image-list reader on arbitrary text, without and with a fixed class
// list (as eval passes a model's classes). Every input must either load or throw convkit::Error.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "convkit/data/image_source.h"
#include "convkit/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using convkit::data::ImageSource;
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const auto& classes : {std::vector<std::string>{}, std::vector<std::string>{"cat", "dog"}}) {
    std::istringstream in(text);
    try {
      ImageSource::from_csv_stream(in, "/fuzz/list.csv", classes);
    } catch (const convkit::Error&) {
    }
  }
  return 0;
}
