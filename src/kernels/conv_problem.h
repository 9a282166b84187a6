#pragma once
// One resolved 2-D convolution problem, shared by the ref and dnnl kernels: every size and every
// pad spelled out (pads are per side, since Padding::same can be asymmetric). Built and checked
// once by the op (src/ops/conv.cpp); kernels trust it. Letters follow oneDNN's naming.
#include <cstdint>
#include <string>

namespace convkit {
struct Conv2dParams;
class Tensor;
}  // namespace convkit

namespace convkit::detail {

struct ConvProblem {
  int64_t N = 0, G = 1;    // batch, groups
  int64_t IC = 0, OC = 0;  // total input / output channels (IC/G and OC/G per group)
  int64_t IH = 0, IW = 0;  // input size
  int64_t OH = 0, OW = 0;  // output size
  int64_t KH = 0, KW = 0;  // kernel size
  int64_t SH = 1, SW = 1;  // strides
  int64_t PT = 0, PB = 0;  // zero rows above / below the input
  int64_t PL = 0, PR = 0;  // zero columns left / right of the input
  int64_t DH = 1, DW = 1;  // dilation (1 = dense; oneDNN's convention is DH-1)
  bool has_bias = false;

  int64_t ICg() const { return IC / G; }
  int64_t OCg() const { return OC / G; }

  // Every parameter, for primitive cache keys and failure messages.
  std::string key() const {
    std::string k;
    for (int64_t v :
         {N, G, IC, OC, IH, IW, OH, OW, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, int64_t(has_bias)})
      k += std::to_string(v) + ",";
    return k;
  }
};

// conv2d's argument checks and size resolution (src/ops/conv.cpp): throws convkit::Error naming
// the shapes; the inference planner resolves its fused convolutions with it too.
ConvProblem resolve_conv(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p);

}  // namespace convkit::detail
