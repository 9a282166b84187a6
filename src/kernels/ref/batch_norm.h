#pragma once
// Reference batch normalization kernels (the oracle for kernels/dnnl/batch_norm).
// x is read as [N, C, S]: S = H*W for [N, C, H, W] and 1 for [N, C]. M = N*S values per channel.
#include "convkit/tensor.h"

namespace convkit::ref {

struct BatchNormParams {
  double eps = 1e-5;
  // true (eval): mean/var are inputs (the running stats); false (training): the forward writes the
  // batch mean and biased variance into them.
  bool use_global_stats = false;
};

// y = (x - mean) / sqrt(var + eps) * weight + bias. weight/bias may be undefined (1 and 0).
template <class T>
void batch_norm_forward(Tensor& y, Tensor& mean, Tensor& var, const Tensor& x, const Tensor& weight,
                        const Tensor& bias, const BatchNormParams& p);

// Gradients given dy. Any of dx, dweight, dbias may be undefined (not computed). mean/var are the
// statistics the forward used; with use_global_stats they are constants (no gradient through them).
template <class T>
void batch_norm_backward(Tensor& dx, Tensor& dweight, Tensor& dbias, const Tensor& dy,
                         const Tensor& x, const Tensor& mean, const Tensor& var,
                         const Tensor& weight, const BatchNormParams& p);

}  // namespace convkit::ref
