// conv2d: y = conv(x, w) + b over NCHW, with stride, per-side zero padding, dilation and groups.
//   y[n,oc,oh,ow] = b[oc] + sum_{ic,kh,kw} w[oc,ic,kh,kw] x[n, g(oc)*ICg + ic, oh*SH-PT+kh*DH,
//   ow*SW-PL+kw*DW]
// Gradients (docs/derivatives/conv.md), for upstream gradient gy of y's shape:
//   dx = conv2d_backward_data(gy, w)       the transposed convolution: every tap sends gy*w back
//   dw = conv2d_backward_weights(gy, x)    dw[oc,ic,kh,kw] = sum_{n,oh,ow} gy[n,oc,oh,ow]
//   x[n,c,ih,iw] db = sum_{n,oh,ow} gy[n,oc,oh,ow]
// Saved: x (for dw) and w (for dx), as detached views (no copies), and the resolved problem.
#include "convkit/ops/conv.h"

#include "convkit/autograd.h"
#include "core/dispatch.h"
#include "core/trace.h"
#include "kernels/conv_problem.h"
#include "kernels/dnnl/conv.h"
#include "kernels/ref/conv.h"

namespace convkit {

int64_t conv_output_size(int64_t n, int64_t k, int64_t s, int64_t p, int64_t d) {
  CONVKIT_CHECK(n >= 1 && k >= 1 && s >= 1 && p >= 0 && d >= 1,
                "conv_output_size: need n, k, s, d >= 1 and p >= 0, got n=", n, ", k=", k,
                ", s=", s, ", p=", p, ", d=", d);
  const int64_t extent = d * (k - 1) + 1;
  CONVKIT_CHECK(n + 2 * p >= extent, "conv_output_size: the dilated kernel (", extent,
                " = d*(k-1)+1) is larger than the padded input (", n + 2 * p, " = n+2p) for n=", n,
                ", k=", k, ", s=", s, ", p=", p, ", d=", d);
  return (n + 2 * p - extent) / s + 1;
}

PadPair conv_same_padding(int64_t n, int64_t k, int64_t s, int64_t d) {
  CONVKIT_CHECK(n >= 1 && k >= 1 && s >= 1 && d >= 1,
                "conv_same_padding: need n, k, s, d >= 1, got n=", n, ", k=", k, ", s=", s,
                ", d=", d);
  const int64_t out = (n + s - 1) / s;
  const int64_t total = std::max<int64_t>((out - 1) * s + d * (k - 1) + 1 - n, 0);
  return {total / 2, total - total / 2};
}

using detail::ConvProblem;

// Checks the arguments and resolves every size and per-side pad.
ConvProblem detail::resolve_conv(const Tensor& x, const Tensor& w, const Tensor& b,
                                 const Conv2dParams& p) {
  CONVKIT_CHECK(x.defined() && w.defined(), "conv2d: input and weight must be defined");
  // "(input [8,3,32,32], weight [16,1,3,3], bias [16])": the tail of every message below.
  const std::string shapes =
      detail::concat("(input ", x.shape().to_string(), ", weight ", w.shape().to_string(),
                     b.defined() ? ", bias " + b.shape().to_string() : std::string(), ")");
  CONVKIT_CHECK(x.ndim() == 4, "conv2d: input must be 4-D [N, C, H, W] ", shapes);
  CONVKIT_CHECK(w.ndim() == 4, "conv2d: weight must be 4-D [O, C/groups, KH, KW] ", shapes);
  CONVKIT_CHECK(x.dtype() == w.dtype() && (!b.defined() || b.dtype() == x.dtype()),
                "conv2d: dtypes differ (input ", dtype_name(x.dtype()), ", weight ",
                dtype_name(w.dtype()), b.defined() ? ", bias " : "",
                b.defined() ? dtype_name(b.dtype()) : "", ") ", shapes);
  CONVKIT_CHECK(p.groups >= 1, "conv2d: groups must be >= 1, got ", p.groups, " ", shapes);
  CONVKIT_CHECK(p.stride_h >= 1 && p.stride_w >= 1, "conv2d: strides must be >= 1, got ",
                p.stride_h, "x", p.stride_w, " ", shapes);
  CONVKIT_CHECK(p.dilation_h >= 1 && p.dilation_w >= 1, "conv2d: dilations must be >= 1, got ",
                p.dilation_h, "x", p.dilation_w, " ", shapes);
  CONVKIT_CHECK(p.pad_h >= 0 && p.pad_w >= 0, "conv2d: padding must be >= 0, got ", p.pad_h, "x",
                p.pad_w, " ", shapes);

  ConvProblem c;
  c.N = x.size(0), c.IC = x.size(1), c.IH = x.size(2), c.IW = x.size(3);
  c.OC = w.size(0), c.KH = w.size(2), c.KW = w.size(3), c.G = p.groups;
  CONVKIT_CHECK(c.OC % c.G == 0, "conv2d: weight has ", c.OC,
                " output channels, not divisible by groups=", c.G, " ", shapes);
  CONVKIT_CHECK(c.IC == w.size(1) * c.G, "conv2d: input has ", c.IC,
                " channels but weight expects ", w.size(1) * c.G, " (", w.size(1),
                " per group x groups=", c.G, ") ", shapes);
  if (b.defined())
    CONVKIT_CHECK(b.ndim() == 1 && b.size(0) == c.OC, "conv2d: bias must be [", c.OC,
                  "] (one per output channel), got ", b.shape().to_string(), " ", shapes);
  c.has_bias = b.defined();
  c.SH = p.stride_h, c.SW = p.stride_w, c.DH = p.dilation_h, c.DW = p.dilation_w;

  auto resolve_dim = [&](const char* dim, int64_t n, int64_t k, int64_t s, int64_t pad, int64_t d,
                         int64_t& before, int64_t& after, int64_t& out) {
    if (p.mode == Padding::same) {
      PadPair pp = conv_same_padding(n, k, s, d);
      before = pp.before, after = pp.after;
      out = (n + s - 1) / s;
      return;
    }
    before = after = (p.mode == Padding::valid ? 0 : pad);
    try {
      out = conv_output_size(n, k, s, before, d);
    } catch (const Error& e) {
      throw Error(
          detail::concat("conv2d: output ", dim, " would be empty: ", e.what(), " ", shapes));
    }
  };
  resolve_dim("height", c.IH, c.KH, c.SH, p.pad_h, c.DH, c.PT, c.PB, c.OH);
  resolve_dim("width", c.IW, c.KW, c.SW, p.pad_w, c.DW, c.PL, c.PR, c.OW);
  return c;
}

namespace {
auto conv2d_accepts(const Tensor& x, const Tensor& w) {
  return [&x, &w](std::string* why) { return onednn::conv2d_accepts(x, w, why); };
}

// Gradients of x, w, b for upstream gy, each only where wanted.
TensorList conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvProblem& c,
                           const std::vector<bool>& needs) {
  Tensor dx, dw, db;
  if (needs[0]) dx = Tensor::empty(x.shape(), x.dtype());
  if (needs[1]) dw = Tensor::empty(w.shape(), w.dtype());
  if (needs.size() > 2 && needs[2]) db = Tensor::empty({c.OC}, x.dtype());
  detail::dispatch(
      "conv2d", x.dtype(), conv2d_accepts(x, w),
      [&] { onednn::conv2d_backward(dx, dw, db, gy, x, w, c); },
      [&]<class T>() {
        if (dx.defined()) ref::conv2d_backward_data<T>(dx, gy, w, c);
        if (dw.defined() || db.defined()) ref::conv2d_backward_weights<T>(dw, db, gy, x, c);
      });
  return {dx, dw, db};
}
}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p) {
  const ConvProblem c = detail::resolve_conv(x, w, bias, p);
  const bool training = autograd::grad_enabled() && (x.requires_grad() || w.requires_grad() ||
                                                     (bias.defined() && bias.requires_grad()));
  // The dnnl kernel returns y in the layout its primitive chose.
  Tensor y = detail::dispatch(
      "conv2d", x.dtype(), conv2d_accepts(x, w),
      [&] { return onednn::conv2d_forward(x, w, bias, c, training); },
      [&]<class T>() {
        Tensor out = Tensor::empty({c.N, c.OC, c.OH, c.OW}, x.dtype());
        ref::conv2d_forward<T>(out, x, w, bias, c);
        return out;
      });
  if (detail::tracing()) detail::trace_op("conv2d", y, {x, w, bias}, p);
  if (!training) return y;
  autograd::record(
      y, "conv2d", {x, w, bias},
      [xs = x.detach(), ws = w.detach(), c](const Tensor& gy, const std::vector<bool>& needs) {
        return conv2d_backward(gy, xs, ws, c, needs);
      });
  return y;
}

}  // namespace convkit
