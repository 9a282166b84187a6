#pragma once
// Reference softmax / log-softmax along one axis of a contiguous tensor viewed as
// [outer, axis, inner] (element (o, a, i) at (o * axis + a) * inner + i).
#include <cstdint>

#include "convkit/tensor.h"

namespace convkit::ref {

struct SoftmaxParams {
  int64_t outer = 1, axis = 1, inner = 1;
  bool log = false;  // log_softmax instead of softmax
};

// softmax:     y_a = exp(x_a - m) / s,          m = max_a x_a, s = sum_a exp(x_a - m)
// log_softmax: y_a = x_a - m - log(s)
template <class T>
void softmax_forward(Tensor& y, const Tensor& x, const SoftmaxParams& p);
// From the saved output y:
// softmax:     dx_a = y_a (dy_a - sum_b dy_b y_b)
// log_softmax: dx_a = dy_a - exp(y_a) sum_b dy_b
template <class T>
void softmax_backward(Tensor& dx, const Tensor& dy, const Tensor& y, const SoftmaxParams& p);

}  // namespace convkit::ref
