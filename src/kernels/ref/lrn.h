#pragma once
// Reference local response normalization across channels (the oracle for kernels/dnnl/lrn).
// x is read as [N, C, S] with S the product of the spatial dims.
#include <cstdint>

#include "convkit/ops/norm.h"
#include "convkit/tensor.h"

namespace convkit::ref {

// y = x * base^-beta with base = k + alpha/size * (sum of x^2 over the window); writes base too
// (saved for the backward).
template <class T>
void lrn_forward(Tensor& y, Tensor& base, const Tensor& x, const LrnParams& p);

// dx given dy, the input x and the forward's base.
template <class T>
void lrn_backward(Tensor& dx, const Tensor& dy, const Tensor& x, const Tensor& base,
                  const LrnParams& p);

}  // namespace convkit::ref
