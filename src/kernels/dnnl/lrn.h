#pragma once
// oneDNN local response normalization (lrn_forward/backward, lrn_across_channels).
// Oracle: kernels/ref/lrn. float32 only.
#include <string>

#include "convkit/tensor.h"
#include "kernels/ref/lrn.h"

namespace convkit::onednn {

// Declines even sizes: oneDNN's window is symmetric, [c - (size-1)/2, c + (size-1)/2], which for
// an even size is one channel shorter than PyTorch's [c - size/2, c + (size-1)/2].
bool lrn_accepts(const Tensor& x, const LrnParams& p, std::string* why);

// with_workspace: forward_training, and `workspace` receives the buffer lrn_backward needs (a u8
// tensor); otherwise forward_inference and workspace is left untouched.
void lrn_forward(Tensor& y, Tensor& workspace, const Tensor& x, const LrnParams& p,
                 bool with_workspace);

void lrn_backward(Tensor& dx, const Tensor& dy, const Tensor& x, const Tensor& workspace,
                  const LrnParams& p);

}  // namespace convkit::onednn
