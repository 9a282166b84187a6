#pragma once
// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b,
// e]},
// ..., "__metadata__": {"key": "value"}}, then the raw little-endian tensor bytes. No code runs on
// load, and Python reads it directly.
#include <map>
#include <string>
#include <string_view>

#include "convkit/tensor.h"

namespace convkit::io {

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Reads a file. Throws convkit::Error naming the path and what is wrong: missing or unreadable
// file, truncated header or data, malformed JSON, a key given twice, unsupported dtype, a shape
// that is not an array of non-negative integers or whose byte count overflows, offsets out of
// range, overlapping, or leaving bytes of the data section to no tensor (between tensors or after
// the last), shape not matching the byte count (docs/robustness.md).
SafetensorsFile load_safetensors(const std::string& path);
// The same on a file's bytes already in memory; `path` only names them in messages.
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& path);

// Writes atomically: a temporary file in the same folder, fsync, then rename over `path`, so an
// interrupted write never leaves a half-written file under the final name.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace convkit::io
