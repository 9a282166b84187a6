#pragma once
// oneDNN (v2.6) max/avg pooling on plain NCHW float32, pooling_v2 with dilation 0. Oracle:
// kernels/ref/pool.h. PyTorch's ceil_mode becomes an asymmetric right padding chosen so oneDNN's
// output size (floor((I + PL + PR - K) / S) + 1) equals PyTorch's.
#include <memory>
#include <string>

#include "convkit/ops/pool.h"
#include "convkit/tensor.h"

namespace convkit::onednn {

// What the forward pass leaves for backward: max pooling's argmax workspace (opaque, in oneDNN's
// own encoding). Null for avg pooling.
struct PoolWorkspace;

// Declines what would differ from PyTorch: non-float32 input, and avg with count_include_pad when
// ceil_mode adds a right overhang (oneDNN divides by the full kernel there, PyTorch by the window
// clipped to the padded input).
bool pool2d_accepts(const Tensor& x, const Tensor& y, const Pool2dParams& p, bool is_max,
                    std::string* why);

// y: [N, C, OH, OW] (allocated). With `training` (needed for backward), max pooling returns its
// workspace; otherwise returns null.
// y (and dx below) are replaced by tensors in the layouts the primitive runs in: the input's
// oneDNN layout when it has one (kernels/dnnl/layout.h), plain otherwise.
std::shared_ptr<PoolWorkspace> pool2d_forward(Tensor& y, const Tensor& x, const Pool2dParams& p,
                                              bool is_max, bool training);
// dx: [N, C, H, W] (allocated; overwritten). `ws` is what pool2d_forward returned with training.
void pool2d_backward(Tensor& dx, const std::shared_ptr<PoolWorkspace>& ws, const Tensor& dy,
                     const Pool2dParams& p, bool is_max);

}  // namespace convkit::onednn
