#pragma once
// oneDNN softmax_v2 (float32; algorithm softmax_accurate or softmax_log); oracle:
// ref::softmax_* (kernels/ref/softmax.h), same [outer, axis, inner] contract.
#include <string>

#include "convkit/tensor.h"
#include "kernels/ref/softmax.h"

namespace convkit::onednn {

bool softmax_accepts(const Tensor& x, std::string* why);
// training: a backward will follow (forward_training); otherwise forward_inference.
void softmax_forward(Tensor& y, const Tensor& x, const ref::SoftmaxParams& p, bool training);
void softmax_backward(Tensor& dx, const Tensor& dy, const Tensor& y, const ref::SoftmaxParams& p);

}  // namespace convkit::onednn
