#pragma once
#include <string>

#include "convkit/tensor.h"

namespace convkit::onednn {

// y = a + b for same-shape float32 tensors (oneDNN's sum primitive).
bool add_accepts(const Tensor& a, const Tensor& b, std::string* why);
// y is replaced by a tensor in the run layout (an operand's oneDNN layout, if any).
void add_forward(Tensor& y, const Tensor& a, const Tensor& b);

}  // namespace convkit::onednn
