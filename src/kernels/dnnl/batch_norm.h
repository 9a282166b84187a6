#pragma once
// oneDNN batch normalization (batch_normalization_forward/backward). Oracle:
// kernels/ref/batch_norm. Same contract as the ref kernels, float32 only.
#include <string>

#include "convkit/tensor.h"
#include "kernels/ref/batch_norm.h"

namespace convkit::onednn {

bool batch_norm_accepts(const Tensor& x, std::string* why);

// y (and dx below) are replaced by tensors in the layout the primitive runs in: x's own oneDNN
// layout when it has one (kernels/dnnl/layout.h).
void batch_norm_forward(Tensor& y, Tensor& mean, Tensor& var, const Tensor& x, const Tensor& weight,
                        const Tensor& bias, const ref::BatchNormParams& p);

// Unlike the ref kernel, all outputs are written: dx, dweight exactly when weight is defined and
// dbias exactly when bias is (the primitive's flags follow from weight and bias, as in the
// forward).
void batch_norm_backward(Tensor& dx, Tensor& dweight, Tensor& dbias, const Tensor& dy,
                         const Tensor& x, const Tensor& mean, const Tensor& var,
                         const Tensor& weight, const Tensor& bias, const ref::BatchNormParams& p);

}  // namespace convkit::onednn
