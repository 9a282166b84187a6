#pragma once
// oneDNN matmul (float32); oracle: ref::matmul_forward (kernels/ref/matmul.h).
#include <string>

#include "convkit/tensor.h"
#include "kernels/ref/matmul.h"

namespace convkit::onednn {

bool matmul_accepts(const Tensor& a, const Tensor& b, std::string* why);
// Same contract as ref::matmul_forward; transposed operands are described by strides, so they
// are read in place (no copy).
void matmul_forward(Tensor& c, const Tensor& a, const Tensor& b, const ref::MatmulParams& p);

}  // namespace convkit::onednn
