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
// Traced as PermuteParams (dims made non-negative).
struct PermuteParams {
  std::vector<int64_t> order;
};
Tensor permute(const Tensor& x, const std::vector<int>& order);

// Joins tensors along `dim`: all have the same ndim, dtype and sizes except along `dim`, where the
// output has the sum (Inception's channel concat). xs must not be empty. Throws naming the index of
// the first input that does not match xs[0]. Traced as ConcatParams (dim made non-negative).
struct ConcatParams {
  int64_t dim = 0;
};
Tensor concat(const TensorList& xs, int dim);

// Pieces of x along `dim` with the given sizes (each >= 0, summing to x.size(dim)).
TensorList split(const Tensor& x, const std::vector<int64_t>& sizes, int dim);
// Pieces of `chunk` rows along `dim`; the last one is smaller when chunk does not divide the size
// (torch.split(x, chunk, dim)). chunk >= 1.
TensorList split(const Tensor& x, int64_t chunk, int dim);

// Rows [start, start + length) of x along `dim`, copied. A negative start counts from the end
// (torch.narrow); then 0 <= start, length >= 0 and start + length <= x.size(dim). Traced as
// NarrowParams (dim and start made non-negative); split traces one narrow per piece.
struct NarrowParams {
  int64_t dim = 0, start = 0, length = 0;
};
Tensor narrow(const Tensor& x, int dim, int64_t start, int64_t length);

enum class PadMode {
  zeros,      // pads with `value` (0 by default), torch's "constant"
  reflect,    // mirror without repeating the edge: [a b c] -> b [a b c] b; pad < size
  replicate,  // repeat the edge: [a b c] -> a [a b c] c; size >= 1
};

// Pads the last two dims (W by left/right, H by top/bottom) of a tensor with >= 2 dims:
// [..., H, W] -> [..., H + top + bottom, W + left + right]. Pads are >= 0. As
// torch.nn.functional.pad with (left, right, top, bottom). Traced as Pad2dParams, which is also the
// kernels' parameter set.
struct Pad2dParams {
  int64_t left = 0, right = 0, top = 0, bottom = 0;
  PadMode mode = PadMode::zeros;
  double value = 0;  // PadMode::zeros only
};
Tensor pad2d(const Tensor& x, const Pad2dParams& p);
Tensor pad2d(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom,
             PadMode mode = PadMode::zeros, double value = 0);

// Nearest-neighbour upsampling of the last two dims by integer factors (>= 1):
// [..., H, W] -> [..., H*scale_h, W*scale_w], y[..., i, j] = x[..., i / scale_h, j / scale_w]
// (torch's upsample_nearest2d with an integer scale_factor). Traced as UpsampleNearest2dParams.
struct UpsampleNearest2dParams {
  int64_t scale_h = 1, scale_w = 1;
};
Tensor upsample_nearest2d(const Tensor& x, int64_t scale_h, int64_t scale_w);

// Bilinear resizing of the last two dims to out_h x out_w, as
// torch.nn.functional.interpolate(x, size=(out_h, out_w), mode="bilinear", align_corners=...):
// [..., H, W] -> [..., out_h, out_w]. Along each dim an output index o reads the source coordinate
//   align_corners:  s = o * (in - 1) / (out - 1)          (0 when out == 1; corners map to corners)
//   otherwise:      s = max((o + 0.5) * in / out - 0.5, 0) (pixel centres; PyTorch's clamp at 0)
// and interpolates between rows i0 = floor(s) and i1 = min(i0 + 1, in - 1) with weights
// (1 - (s - i0), s - i0); the 2-D value is the product of the two 1-D interpolations.
// Differentiable in x (each output sends its gradient to its four taps with the same weights).
// Works for up- and downsampling; float32 or float64, at least 2 dims. Throws convkit::Error naming
// the op and the shapes when out_h or out_w < 1 or the input plane is empty. Traced as
// UpsampleBilinear2dParams.
struct UpsampleBilinear2dParams {
  int64_t out_h = 1, out_w = 1;  // output size
  bool align_corners = false;
};
Tensor upsample_bilinear2d(const Tensor& x, const UpsampleBilinear2dParams& p);

}  // namespace convkit
