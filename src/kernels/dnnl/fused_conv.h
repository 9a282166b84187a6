#pragma once
// A convolution built once for inference (infer/plan.h): batch norm already folded into its
// weights and bias, the residual sum and the activation after it fused as oneDNN post-ops, the
// weights reordered once into the layout the primitive chose. A call reorders nothing but an
// input that arrives in another layout, allocates only the output, and creates no primitive.
#include <memory>

#include "convkit/tensor.h"
#include "kernels/conv_problem.h"

namespace convkit::onednn {

enum class PostActivation { none, relu, relu6, leaky_relu };

struct FusedConvSpec {
  detail::ConvProblem problem;  // N is the planned batch
  Tensor weight;                // [OC, IC/G, KH, KW] float32 (folded)
  Tensor bias;                  // [OC] float32, or undefined
  bool sum = false;             // y = act(conv(x) + residual)
  PostActivation activation = PostActivation::none;
  double alpha = 0;  // leaky_relu's slope
  // Compute in bfloat16 (AVX-512 BF16): the input is converted when it is reordered, the weights
  // once; accumulation, bias, sum and output stay float32.
  bool bf16 = false;
  // Compute in 8-bit integers (AVX-512 VNNI): the input is quantized with one scale from the
  // calibrated range [input_min, input_max] (u8 when input_min >= 0, else s8; values outside the
  // range saturate), the weights with one scale per output channel (s8, symmetric); s32
  // accumulation, then bias, sum and activation in float32 and a float32 output.
  bool int8 = false;
  float input_min = 0, input_max = 0;
};

class FusedConv {
 public:
  // Throws convkit::Error naming the problem when oneDNN cannot build it.
  explicit FusedConv(const FusedConvSpec& spec);
  ~FusedConv();
  // x [N, IC, IH, IW] (any layout); residual [N, OC, OH, OW] when spec.sum. The output is in the
  // primitive's layout (kernels/dnnl/layout.h).
  Tensor run(const Tensor& x, const Tensor& residual) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace convkit::onednn
