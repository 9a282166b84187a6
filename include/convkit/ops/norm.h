#pragma once
// Normalization layers' ops: batch normalization and local response normalization.
// Formulas, gradients and saved tensors: docs/derivatives/norm.md.
#include <cstdint>

#include "convkit/tensor.h"

namespace convkit {

// Batch normalization (Ioffe & Szegedy 2015), PyTorch's F.batch_norm semantics.
//
//   x:            [N, C, H, W] or [N, C], float32 or float64.
//   weight, bias: [C] (gamma, beta) of x's dtype, or undefined (no scale / no shift).
//   running_mean, running_var: [C] of x's dtype, both defined or both undefined.
//   returns y of x's shape: y = (x - mu) / sqrt(var + eps) * weight + bias, per channel c, where
//     training: mu, var = mean and biased variance of x over N (and H, W) for channel c;
//               when running stats are defined they are updated in place, outside autograd:
//                 running_mean = (1 - momentum) * running_mean + momentum * mu
//                 running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)
//               (M = N*H*W values per channel; the running variance is unbiased, as PyTorch).
//     eval:     mu, var = running_mean, running_var (which are then required).
// Differentiable in x, weight and bias in both modes (in eval it is a per-channel affine map).
// Throws convkit::Error (naming batch_norm and the shapes) when x is not 2-D or 4-D, a [C]
// argument has the wrong size or dtype, only one running stat is given, eval mode lacks running
// stats, training sees only one value per channel (M == 1), or momentum/eps are out of range.
// Traced (core/trace.h) as BatchNormParams.
struct BatchNormParams {
  bool training = true;   // batch statistics (and running-stat update) or the running stats
  double momentum = 0.1;  // weight of the batch statistic in the running-stat update, in [0, 1]
  double eps = 1e-5;      // added to the variance, >= 0
};
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                  Tensor& running_var, const BatchNormParams& p);
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                  Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);

// Local response normalization across channels (Krizhevsky et al. 2012, section 3.3), PyTorch's
// F.local_response_norm semantics:
//   y[n,c,...] = x[n,c,...] / (k + alpha/size * sum_{j=c-size/2}^{c+(size-1)/2} x[n,j,...]^2)^beta
// with channels outside [0, C) counted as zero (integer division: an even size puts one more
// channel before c than after it). AlexNet uses size 5, alpha 1e-4, beta 0.75, k 2.
//   x: [N, C, ...] with at least 3 dims (e.g. [N, C, H, W]), float32 or float64; y: x's shape.
// Throws convkit::Error when x has fewer than 3 dims, size < 1, or k <= 0 (the base of the power
// must stay positive). Traced as LrnParams; the same struct is the kernels' parameter set.
struct LrnParams {
  int64_t size = 5;  // channels in the window: [c - size/2, c + (size-1)/2] (PyTorch's window)
  double alpha = 1e-4;
  double beta = 0.75;
  double k = 1.0;
};
Tensor local_response_norm(const Tensor& x, const LrnParams& p);
Tensor local_response_norm(const Tensor& x, int64_t size, double alpha = 1e-4, double beta = 0.75,
                           double k = 1.0);

}  // namespace convkit
