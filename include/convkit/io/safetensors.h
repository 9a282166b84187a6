#pragma once
// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b,
// e]},
// ..., "__metadata__": {"key": "value"}}, then the raw little-endian tensor bytes. No code runs on
// load, and Python reads it directly.
#include <map>
#include <string>

#include "convkit/tensor.h"

namespace convkit::io {

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Reads a file. Throws convkit::Error naming the path and what is wrong: missing or unreadable
// file, truncated header or data, malformed JSON, unsupported dtype, offsets out of range or
// overlapping, shape not matching the byte count.
SafetensorsFile load_safetensors(const std::string& path);

// Writes atomically: a temporary file in the same folder, fsync, then rename over `path`, so an
// interrupted write never leaves a half-written file under the final name.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace convkit::io
