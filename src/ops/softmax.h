#pragma once
// Internal: softmax kernels without autograd, shared by softmax.cpp and the fused cross entropy.
#include "convkit/tensor.h"
#include "kernels/ref/softmax.h"

namespace convkit::detail {

// [outer, axis, inner] view of x for a softmax along dim; throws naming op when dim is invalid.
ref::SoftmaxParams softmax_params(const Tensor& x, int dim, bool log, const char* op);
// y = (log_)softmax(x) on whichever kernel accepts it; records nothing. training: a softmax
// backward will follow (oneDNN's forward_training; forward_inference otherwise).
Tensor softmax_raw(const Tensor& x, const ref::SoftmaxParams& p, bool training, const char* op);

}  // namespace convkit::detail
