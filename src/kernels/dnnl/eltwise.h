#pragma once
// oneDNN eltwise (float32) for the activations; oracle: ref::eltwise_* (kernels/ref/eltwise.h).
// Same contract as the reference kernels, including which tensor backward receives as `saved`.
#include <string>

#include "convkit/tensor.h"
#include "kernels/ref/eltwise.h"

namespace convkit::onednn {

bool eltwise_accepts(const Tensor& x, std::string* why);
void eltwise_forward(Tensor& y, const Tensor& x, const ref::EltwiseParams& p);
void eltwise_backward(Tensor& dx, const Tensor& dy, const Tensor& saved, const ref::EltwiseParams& p);

}  // namespace convkit::onednn
