#pragma once
// oneDNN 2.6 convolution kernels (float32). Oracle: kernels/ref/conv.h, same contracts.
// Primitives, their layouts (format_tag::any: oneDNN picks its blocked formats) and the reorders
// between those and our plain NCHW/OIHW tensors are built once per problem and cached.
#include <string>

#include "convkit/tensor.h"
#include "kernels/conv_problem.h"

namespace convkit::onednn {

// Declines anything but non-empty float32 tensors.
bool conv2d_accepts(const Tensor& x, const Tensor& w, std::string* why);

// y = conv(x, w) + b (b ignored unless p.has_bias). `training` picks the forward_training
// primitive (whose descriptor is the hint for the backward primitives) or forward_inference.
// y = conv(x, w) + b, in the layout the primitive chose (kernels/dnnl/layout.h).
Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b,
                      const detail::ConvProblem& p, bool training);

// dx, in the layout the primitive chose.
Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const detail::ConvProblem& p);

// dw and/or db (either may be undefined: not wanted).
void conv2d_backward_weights(Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x,
                             const detail::ConvProblem& p);

// Both backward passes from one reorder of dy (when both primitives chose the same dy layout):
// dx, dw, db, each only when defined.
// dx (when defined on entry: replaced by one in the primitive's layout), dw, db.
void conv2d_backward(Tensor& dx, Tensor& dw, Tensor& db, const Tensor& dy, const Tensor& x,
                     const Tensor& w, const detail::ConvProblem& p);

}  // namespace convkit::onednn
