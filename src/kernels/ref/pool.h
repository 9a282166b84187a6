#pragma once
// Reference pooling kernels: loops over named dims (N, C, IH, IW, OH, OW, KH, KW, SH, SW, PH, PW)
// that follow PyTorch's CPU kernels (aten/src/ATen/native/cpu/{Max,Avg,AdaptiveAvg}PoolKernel.cpp)
// tap for tap. Tensors are [N, C, H, W]; output sizes are taken from y (or dy). Arguments were
// checked by the op; kernels trust them. Backward kernels overwrite dx.
#include "convkit/ops/pool.h"
#include "convkit/tensor.h"

namespace convkit::ref {

// y: [N, C, OH, OW]; argmax (int64, same shape): for each output, the index ih * IW + iw of the
// first maximum in its window, saved for backward.
template <class T>
void max_pool2d_forward(Tensor& y, Tensor& argmax, const Tensor& x, const Pool2dParams& p);
// dx[n, c, argmax] += dy for every output, zero elsewhere.
template <class T>
void max_pool2d_backward(Tensor& dx, const Tensor& argmax, const Tensor& dy);

template <class T>
void avg_pool2d_forward(Tensor& y, const Tensor& x, const Pool2dParams& p);
template <class T>
void avg_pool2d_backward(Tensor& dx, const Tensor& dy, const Pool2dParams& p);

template <class T>
void adaptive_avg_pool2d_forward(Tensor& y, const Tensor& x);
template <class T>
void adaptive_avg_pool2d_backward(Tensor& dx, const Tensor& dy);

}  // namespace convkit::ref
