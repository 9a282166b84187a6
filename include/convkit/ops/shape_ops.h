#pragma once
// Layout and shape ops that copy (every tensor is contiguous; see tensor.h): transpose, permute,
// concat, split, narrow, pad2d, upsample_nearest2d. Derivatives: docs/derivatives/shape_ops.md.
//
// Dimensions may be negative (counted from the back, -1 = last). transpose, permute, concat,
// split and narrow work on every dtype (gradients flow for float ones); pad2d and
// upsample_nearest2d need float32 or float64. Every op throws convkit::Error naming the op, the
// shapes and the offending dims or sizes.
#include <cstdint>
#include <vector>

#include "convkit/autograd.h"
#include "convkit/tensor.h"

namespace convkit {

// x with dims d0 and d1 swapped (a copy). Same number of elements; y.shape()[d0] = x.shape()[d1].
Tensor transpose(const Tensor& x, int d0, int d1);

// y.shape()[i] = x.shape()[order[i]] (a copy), as torch.permute. `order` lists every dim once.
Tensor permute(const Tensor& x, const std::vector<int>& order);

// Joins tensors along `dim`: all have the same ndim, dtype and sizes except along `dim`, where the
// output has the sum (Inception's channel concat). xs must not be empty. Throws naming the index of
// the first input that does not match xs[0].
Tensor concat(const TensorList& xs, int dim);

// Pieces of x along `dim` with the given sizes (each >= 0, summing to x.size(dim)).
TensorList split(const Tensor& x, const std::vector<int64_t>& sizes, int dim);
// Pieces of `chunk` rows along `dim`; the last one is smaller when chunk does not divide the size
// (torch.split(x, chunk, dim)). chunk >= 1.
TensorList split(const Tensor& x, int64_t chunk, int dim);

// Rows [start, start + length) of x along `dim`, copied. A negative start counts from the end
// (torch.narrow); then 0 <= start, length >= 0 and start + length <= x.size(dim).
Tensor narrow(const Tensor& x, int dim, int64_t start, int64_t length);

enum class PadMode {
  zeros,      // pads with `value` (0 by default), torch's "constant"
  reflect,    // mirror without repeating the edge: [a b c] -> b [a b c] b; pad < size
  replicate,  // repeat the edge: [a b c] -> a [a b c] c; size >= 1
};

// Pads the last two dims (W by left/right, H by top/bottom) of a tensor with >= 2 dims:
// [..., H, W] -> [..., H + top + bottom, W + left + right]. Pads are >= 0. As
// torch.nn.functional.pad with (left, right, top, bottom).
Tensor pad2d(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom,
             PadMode mode = PadMode::zeros, double value = 0);

// Nearest-neighbour upsampling of the last two dims by integer factors (>= 1):
// [..., H, W] -> [..., H*scale_h, W*scale_w], y[..., i, j] = x[..., i / scale_h, j / scale_w]
// (torch's upsample_nearest2d with an integer scale_factor).
Tensor upsample_nearest2d(const Tensor& x, int64_t scale_h, int64_t scale_w);

}  // namespace convkit
