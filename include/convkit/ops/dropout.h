#pragma once
// Dropout (Srivastava et al. 2014), inverted: kept values are scaled by 1/(1-p) during training so
// that evaluation is the identity. Formulas: docs/derivatives/norm.md.
#include "convkit/tensor.h"

namespace convkit {

class Generator;

// Zeroes each element of x independently with probability p and scales the rest by 1/(1-p).
//   x: any shape, float32 or float64; returns x's shape.
//   training false or p == 0: returns x itself (identity, gradient passes through).
//   p == 1: returns zeros (and zero gradient).
//   The mask is drawn from `gen` (default_generator() when null), one uniform per element in
//   row-major order, so re-seeding the generator reproduces the mask. The backward multiplies the
//   gradient by the same mask.
// Throws convkit::Error (naming dropout) when p is outside [0, 1].
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);

// Channel-wise dropout (Tompson et al. 2015): zeroes whole feature maps x[n, c, :, :] with
// probability p, scaling kept maps by 1/(1-p). x: [N, C, H, W]; one uniform per (n, c) drawn in
// row-major order. Same identity / p == 1 rules as dropout.
// Throws convkit::Error (naming dropout2d and x's shape) when x is not 4-D or p is outside [0, 1].
Tensor dropout2d(const Tensor& x, double p, bool training, Generator* gen = nullptr);

}  // namespace convkit
