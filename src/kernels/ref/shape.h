#pragma once
// Reference copy kernels for the shape ops (convkit/ops/shape_ops.h). permute and the narrow pair
// move raw elements of any dtype; pad and upsample are templated on float/double. Arguments were
// checked by the op; output shapes come from the output tensor.
#include <vector>

#include "convkit/ops/shape_ops.h"
#include "convkit/tensor.h"

namespace convkit::ref {

// y[i0, .., ik] = x[j] with j[order[d]] = i[d]; y.shape()[d] = x.shape()[order[d]].
void permute(Tensor& y, const Tensor& x, const std::vector<int>& order);
// y = rows [start, start + y.size(dim)) of x along dim.
void narrow_copy(Tensor& y, const Tensor& x, int dim, int64_t start);
// Rows [start, start + x.size(dim)) of y along dim = x; y's other rows are left as they are.
void narrow_embed(Tensor& y, const Tensor& x, int dim, int64_t start);

// y: [..., H + top + bottom, W + left + right]
template <class T>
void pad2d_forward(Tensor& y, const Tensor& x, const Pad2dParams& p);
// dx (overwritten): each input element receives the sum of dy over the outputs that copied it.
template <class T>
void pad2d_backward(Tensor& dx, const Tensor& dy, const Pad2dParams& p);

// Scales are y's last two sizes divided by x's.
template <class T>
void upsample_nearest2d_forward(Tensor& y, const Tensor& x);
template <class T>
void upsample_nearest2d_backward(Tensor& dx, const Tensor& dy);

}  // namespace convkit::ref
