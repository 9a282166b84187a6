#pragma once
// oneDNN eltwise (float32) for the activations; oracle: ref::eltwise_* (kernels/ref/eltwise.h).
// Same contract as the reference kernels, including which tensor backward receives as `saved`.
#include <string>

#include "convkit/tensor.h"
#include "kernels/ref/eltwise.h"

namespace convkit::onednn {

bool eltwise_accepts(const Tensor& x, std::string* why);
// training: a backward will follow (forward_training); otherwise forward_inference.
// y and dx are replaced by tensors in the run layout (an operand's oneDNN layout, if any).
void eltwise_forward(Tensor& y, const Tensor& x, const ref::EltwiseParams& p, bool training);
void eltwise_backward(Tensor& dx, const Tensor& dy, const Tensor& saved,
                      const ref::EltwiseParams& p);

}  // namespace convkit::onednn
