#pragma once
// oneDNN inner_product (float32) for the fully connected layer, PyTorch layout: x [N,IC],
// w [OC,IC], bias [OC] or undefined, y [N,OC]. Oracles: ref::linear_* (kernels/ref/matmul.h).
// Every memory is plain row-major, which oneDNN's GEMM-based inner product reads directly
// (w [OC,IC] is its "oi" layout), so no reorder happens.
#include <string>

#include "convkit/tensor.h"

namespace convkit::onednn {

bool linear_accepts(const Tensor& x, const Tensor& w, std::string* why);
// training: a backward will follow (forward_training); otherwise forward_inference.
void linear_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias, bool training);
void linear_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w);
// dbias may be undefined (layer without bias).
void linear_backward_weights(Tensor& dw, Tensor& dbias, const Tensor& dy, const Tensor& x);

}  // namespace convkit::onednn
