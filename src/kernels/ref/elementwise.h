#pragma once
// Reference elementwise kernels: y = f(a, b) with broadcasting, y = f(x).
#include "convkit/tensor.h"

namespace convkit::ref {

enum class BinaryOp { add, sub, mul, div };

template <class T>
void binary_forward(Tensor& y, const Tensor& a, const Tensor& b, BinaryOp op);

// Sum of x over the dimensions where `reduced` (same ndim as x) has size 1 and x does not.
template <class T>
void reduce_sum(Tensor& y, const Tensor& x);

}  // namespace convkit::ref
