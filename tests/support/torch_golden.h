#pragma once
// One torchvision golden case of tests/onnx/gen_onnx.py (a .safetensors file beside the .onnx)
// and the training-step check shared by the ONNX import test and the zoo's by-name test.
#include <string>

#include "convkit/io/safetensors.h"
#include "convkit/nn/module.h"

namespace convkit::test {

struct TorchCase {
  io::SafetensorsFile golden;
  Tensor operator()(const std::string& key) const;  // a tensor; fails the test when absent
  double meta(const std::string& key) const;        // a numeric metadata entry
  bool has_meta(const std::string& key) const { return golden.metadata.count(key) > 0; }
};

// One training-mode forward + backward of `model` (in `dtype`) on the case's train_input with
// loss = sum(output * upstream) and dropout off (as PyTorch's step ran), then one SGD step, against
// PyTorch's float64 results: training output, gradient of the first conv's weight, first BN's
// running mean, eval output after the step. float64 is held to 1e-4; float32 to the case's tol_*
// (what PyTorch's float32 achieves). Leaves `model` changed (trained one step, eval mode).
void check_training_step(nn::Module& model, const TorchCase& c, DType dtype);

}  // namespace convkit::test
