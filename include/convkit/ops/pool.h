#pragma once
// 2-D pooling over the last two dims of [N, C, H, W] tensors, with PyTorch's semantics
// (torch.nn.functional.max_pool2d / avg_pool2d / adaptive_avg_pool2d), so weights and results move
// between the two. Derivatives: docs/derivatives/pool.md.
//
// Inputs must be 4-D float32 or float64 tensors. Every op throws convkit::Error naming the op, the
// input shape and the parameters when the arguments are invalid.
#include <cstdint>
#include <string>

#include "convkit/tensor.h"

namespace convkit {

// Window geometry of max/avg pooling. Required: the kernel (and the stride, which defaults to the
// kernel); the rest are named setters:
//   max_pool2d(x, Pool2dParams(3, 2).set_padding(1).set_ceil_mode(true))
struct Pool2dParams {
  int64_t kernel_h, kernel_w;     // window size
  int64_t stride_h, stride_w;     // step between windows; default: the kernel size
  int64_t pad_h = 0, pad_w = 0;   // implicit padding on both sides; at most kernel / 2
  bool ceil_mode = false;         // round the output size up (see pool_output_size); default floor
  bool count_include_pad = true;  // avg only: padded taps count in the divisor; default true

  // Square kernel k, stride k. Implicit so that `max_pool2d(x, 2)` reads as in PyTorch.
  Pool2dParams(int64_t k) : Pool2dParams(k, k) {}
  Pool2dParams(int64_t k, int64_t s) : Pool2dParams(k, k, s, s) {}
  Pool2dParams(int64_t kh, int64_t kw, int64_t sh, int64_t sw)
      : kernel_h(kh), kernel_w(kw), stride_h(sh), stride_w(sw) {}

  Pool2dParams& set_padding(int64_t p) { return set_padding(p, p); }
  Pool2dParams& set_padding(int64_t h, int64_t w) {
    pad_h = h, pad_w = w;
    return *this;
  }
  Pool2dParams& set_stride(int64_t h, int64_t w) {
    stride_h = h, stride_w = w;
    return *this;
  }
  Pool2dParams& set_ceil_mode(bool on) {
    ceil_mode = on;
    return *this;
  }
  Pool2dParams& set_count_include_pad(bool on) {
    count_include_pad = on;
    return *this;
  }

  // "kernel=3x3 stride=2x2 pad=1x1 ceil_mode=1 count_include_pad=1": for messages and cache keys.
  std::string to_string() const;
};

// Output length of pooling along one dim of length n (PyTorch's rule, dilation 1):
//   floor mode: floor((n + 2p - k) / s) + 1
//   ceil mode:  ceil((n + 2p - k) / s) + 1, minus one when the last window would start at or
//               past n + p (a window must start inside the input or the left padding).
// Throws (naming `op`) unless k >= 1, s >= 1, 0 <= p <= k / 2 and the result is >= 1.
int64_t pool_output_size(int64_t n, int64_t k, int64_t s, int64_t p, bool ceil_mode,
                         const char* op = "pool_output_size");

// [N, C, H, W] -> [N, C, OH, OW], OH = pool_output_size(H, kernel_h, stride_h, pad_h, ceil_mode).
// Each output is the maximum over its window; padded taps never win (they act as -inf). A NaN tap
// gives NaN on the reference kernel (as PyTorch); oneDNN's kernel (float32 default) skips NaNs
// instead — the one known difference, left in because detecting NaNs would cost a pass. Backward
// routes the gradient to the first maximum of each window (row-major order), as PyTorch does;
// overlapping windows add up.
Tensor max_pool2d(const Tensor& x, const Pool2dParams& p);

// [N, C, H, W] -> [N, C, OH, OW] (same size rule). Each output is the window sum divided by:
//   count_include_pad: the window's size clipped to the padded input [-pad, n + pad) — padded taps
//     count, but ceil_mode's extra right overhang does not;
//   otherwise: the number of real input elements in the window.
// (PyTorch's avg_pool2d rule, divisor_override unsupported.)
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p);

// [N, C, H, W] -> [N, C, 1, 1]: the mean over each channel's plane. Keeps 4-D (as
// adaptive_avg_pool2d(x, 1, 1) in PyTorch); flatten() it before a linear layer.
Tensor global_avg_pool2d(const Tensor& x);

// [N, C, H, W] -> [N, C, out_h, out_w]. Output (i, j) averages rows [floor(i*H/out_h),
// ceil((i+1)*H/out_h)) and the matching columns (PyTorch's bins; they overlap when H is not a
// multiple of out_h). out_h, out_w >= 1; H, W >= 1. Traced as AdaptivePool2dParams; max_pool2d and
// avg_pool2d trace their Pool2dParams, global_avg_pool2d nothing.
struct AdaptivePool2dParams {
  int64_t out_h = 1, out_w = 1;  // output size
};
Tensor adaptive_avg_pool2d(const Tensor& x, const AdaptivePool2dParams& p);
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);

}  // namespace convkit
