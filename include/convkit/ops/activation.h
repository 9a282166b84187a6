#pragma once
// Pointwise activations. Each returns a tensor of x's shape and dtype (float32 or float64; other
// dtypes throw convkit::Error naming the op). Gradients at kinks follow PyTorch: relu'(0) = 0,
// leaky_relu'(0) = slope, elu'(0) = alpha, relu6' is 0 at 0 and at 6.
// Kernels: oneDNN eltwise (float32; the *_use_dst_for_bwd algorithms, so backward keeps only the
// output alive), reference loops otherwise.
#include "convkit/tensor.h"

namespace convkit {

// Traced parameters: leaky_relu and elu trace ActivationParams (alpha = the slope for leaky_relu);
// relu, sigmoid, tanh and relu6 trace nothing.
struct ActivationParams {
  double alpha = 0;
};
// softmax and log_softmax trace SoftmaxParams with dim made non-negative.
struct SoftmaxParams {
  int64_t dim = -1;
};

// max(x, 0)
Tensor relu(const Tensor& x);
// x for x > 0, slope * x otherwise.
Tensor leaky_relu(const Tensor& x, double slope = 0.01);
// x for x > 0, alpha * (exp(x) - 1) otherwise (Clevert et al. 2015). Throws when alpha < 0.
Tensor elu(const Tensor& x, double alpha = 1.0);
// 1 / (1 + exp(-x))
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
// min(max(x, 0), 6): MobileNet v2's activation (Sandler et al. 2018).
Tensor relu6(const Tensor& x);

// Softmax along `dim` (negative counts from the back): y_i = exp(x_i - max) / sum_j exp(x_j - max),
// so large logits never overflow. Output has x's shape; each slice along dim sums to 1.
// Throws convkit::Error ("softmax", the dim and the shape) when dim is out of range.
// Kernels: oneDNN softmax_v2 (softmax_accurate; float32), reference loops otherwise.
Tensor softmax(const Tensor& x, int dim);
// log(softmax(x, dim)) computed directly as x_i - max - log(sum_j exp(x_j - max)) (accurate where
// softmax underflows to 0). Kernels: oneDNN softmax_v2 (softmax_log), reference loops otherwise.
Tensor log_softmax(const Tensor& x, int dim);

}  // namespace convkit
