#pragma once
// Loads a PyTorch-written golden file from tests/golden/data/<name>.safetensors. A missing file
// fails the test with the command that regenerates it.
#include <string>

#include "convkit/io/safetensors.h"

namespace convkit::test {

io::SafetensorsFile load_golden(const std::string& name);
// The tensor `key` of a golden file; fails the calling test (throws) when absent.
Tensor golden_tensor(const io::SafetensorsFile& f, const std::string& key);
// Relative error max|a-b| / max(max|b|, 1e-12): the metric for PyTorch parity (<= 1e-4).
double rel_error(const Tensor& a, const Tensor& b);

}  // namespace convkit::test
