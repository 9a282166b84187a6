#pragma once
// Reference bilinear resizing (convkit/ops/shape_ops.h, upsample_bilinear2d). x and y are read as
// [P, IH, IW] and [P, OH, OW] with P the product of the leading dims; sizes come from the tensors.
#include "convkit/ops/shape_ops.h"
#include "convkit/tensor.h"

namespace convkit::ref {

template <class T>
void upsample_bilinear2d_forward(Tensor& y, const Tensor& x, bool align_corners);
// dx (overwritten): each input element receives its interpolation weight times dy, summed over
// every output that reads it.
template <class T>
void upsample_bilinear2d_backward(Tensor& dx, const Tensor& dy, bool align_corners);

}  // namespace convkit::ref
