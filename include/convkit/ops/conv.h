#pragma once
// 2-D convolution (cross-correlation, as in PyTorch and oneDNN) over NCHW images.
//
//   y[n, oc, oh, ow] = b[oc] + sum_{ic, kh, kw} w[oc, ic, kh, kw] * x[n, g*ICg + ic, ih, iw]
//   ih = oh*SH - PT + kh*DH,  iw = ow*SW - PL + kw*DW   (taps outside the input read zero)
// where g = oc / (OC/groups) is the group of output channel oc and ICg = C/groups.
// Derivatives: docs/derivatives/conv.md.
#include <cstdint>

#include "convkit/tensor.h"

namespace convkit {

// How conv2d pads its input.
//   explicit_pad: pad_h rows above and below, pad_w columns left and right (PyTorch's `padding`).
//   same: output size ceil(n / stride) for any stride (TensorFlow/Keras "SAME"). The total padding
//         max((ceil(n/s) - 1)*s + d*(k-1) + 1 - n, 0) is split with the odd pixel at the bottom /
//         right, so it can be asymmetric. (PyTorch's padding='same' allows stride 1 only; there
//         the two agree.)
//   valid: no padding (pad_h, pad_w ignored).
enum class Padding { explicit_pad, same, valid };

// Options of conv2d. Defaults: stride 1, padding 0 (explicit), dilation 1, one group.
struct Conv2dParams {
  int64_t stride_h = 1, stride_w = 1;      // step between output positions, >= 1
  int64_t pad_h = 0, pad_w = 0;            // zero padding on each side (explicit_pad only), >= 0
  int64_t dilation_h = 1, dilation_w = 1;  // spacing between kernel taps, >= 1 (1 = dense)
  int64_t groups = 1;                      // channels split into groups; C and O divisible by it
  Padding mode = Padding::explicit_pad;

  Conv2dParams& set_stride(int64_t s) { return set_stride(s, s); }
  Conv2dParams& set_stride(int64_t h, int64_t w) {
    stride_h = h, stride_w = w;
    return *this;
  }
  // Switches to explicit padding.
  Conv2dParams& set_padding(int64_t p) { return set_padding(p, p); }
  Conv2dParams& set_padding(int64_t h, int64_t w) {
    pad_h = h, pad_w = w, mode = Padding::explicit_pad;
    return *this;
  }
  Conv2dParams& set_dilation(int64_t d) { return set_dilation(d, d); }
  Conv2dParams& set_dilation(int64_t h, int64_t w) {
    dilation_h = h, dilation_w = w;
    return *this;
  }
  Conv2dParams& set_groups(int64_t g) {
    groups = g;
    return *this;
  }
  Conv2dParams& same() {
    mode = Padding::same;
    return *this;
  }
  Conv2dParams& valid() {
    mode = Padding::valid;
    return *this;
  }
};

// Output length along one spatial dimension with `p` zeros on both sides:
//   floor((n + 2p - d(k-1) - 1) / s) + 1.
// Throws (naming every value) when the result is < 1, i.e. the dilated kernel d(k-1)+1 does not
// fit in the padded input, or when an argument is out of range (n, k, s, d >= 1, p >= 0).
int64_t conv_output_size(int64_t n, int64_t k, int64_t s, int64_t p, int64_t d);

// Padding before and after (top/bottom or left/right) that Padding::same uses for an input of
// length n: the output is ceil(n/s) long; `after` gets the odd pixel.
struct PadPair {
  int64_t before = 0, after = 0;
};
PadPair conv_same_padding(int64_t n, int64_t k, int64_t s, int64_t d);

// x: [N, C, H, W]; w: [O, C/groups, KH, KW]; bias: [O] or an undefined Tensor() for none.
// Returns y: [N, O, OH, OW], OH/OW from conv_output_size (explicit/valid) or ceil(H/SH) (same).
// x, w and bias share one floating dtype (float32: oneDNN kernel when the backend is dnnl;
// float64: reference kernel). Differentiable in x, w and bias.
// Throws (message names "conv2d" and the shapes) when x or w is not 4-D, C != w.C * groups,
// O is not divisible by groups, bias is not [O], the dtypes differ, a parameter is out of range, or
// the output would be empty.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias = Tensor(),
              const Conv2dParams& p = {});

}  // namespace convkit
