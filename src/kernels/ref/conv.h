#pragma once
// Reference 2-D convolution kernels: direct loops, the oracle for the oneDNN kernels.
// Layouts: x, dx [N, IC, IH, IW]; w, dw [OC, IC/G, KH, KW]; y, dy [N, OC, OH, OW]; b, db [OC].
// Each kernel overwrites its outputs (it never accumulates into what the caller passed).
#include "convkit/tensor.h"
#include "kernels/conv_problem.h"

namespace convkit::ref {

// y = conv(x, w) + b; b is ignored unless p.has_bias.
template <class T>
void conv2d_forward(Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b,
                    const detail::ConvProblem& p);

// dx = d(sum(y * dy)) / dx: the transposed convolution of dy with w.
template <class T>
void conv2d_backward_data(Tensor& dx, const Tensor& dy, const Tensor& w,
                          const detail::ConvProblem& p);

// dw = correlation of x with dy; db = sum of dy over N, OH, OW. Either output may be undefined
// (not wanted).
template <class T>
void conv2d_backward_weights(Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x,
                             const detail::ConvProblem& p);

}  // namespace convkit::ref
