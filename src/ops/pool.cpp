// 2-D pooling (docs/derivatives/pool.md).
//   max_pool2d: y[n,c,oh,ow] = max_{(ih,iw) in window(oh,ow)} x[n,c,ih,iw]
//               dx[n,c,ih,iw] = sum of dy over the outputs whose (first) argmax is (ih,iw)
//               saved: the argmax (ref: int64 indices; dnnl: the primitive's workspace)
//   avg_pool2d: y = sum_{window} x / divisor(oh,ow)      dx = sum over windows of dy / divisor
//               saved: nothing but shapes and params
//   adaptive_avg_pool2d: the same with PyTorch's adaptive bins; global_avg_pool2d = adaptive 1x1.
// Window(oh) rows: ih = oh*SH - PH + kh, kh in [0, KH), clipped to the input.
#include "convkit/ops/pool.h"

#include "convkit/autograd.h"
#include "core/dispatch.h"
#include "core/trace.h"
#include "kernels/dnnl/pool.h"
#include "kernels/ref/pool.h"

namespace convkit {

std::string Pool2dParams::to_string() const {
  return detail::concat("kernel=", kernel_h, "x", kernel_w, " stride=", stride_h, "x", stride_w,
                        " pad=", pad_h, "x", pad_w, " ceil_mode=", ceil_mode,
                        " count_include_pad=", count_include_pad);
}

namespace {
// PyTorch's pooling_output_shape (aten/src/ATen/native/Pool.h) with dilation 1; no checks.
int64_t output_size_unchecked(int64_t n, int64_t k, int64_t s, int64_t p, bool ceil_mode) {
  int64_t num = n + 2 * p - k + (ceil_mode ? s - 1 : 0);
  int64_t out = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;  // floor division
  if (ceil_mode && (out - 1) * s >= n + p) --out;  // the last window must start inside n + p
  return out;
}

// Checks x and p for the pooling op `op` and returns the output shape [N, C, OH, OW].
Shape pooled_shape(const Tensor& x, const Pool2dParams& p, const char* op) {
  CONVKIT_CHECK(x.defined(), op, ": undefined input");
  CONVKIT_CHECK(x.ndim() == 4, op, ": expected a 4-D input [N, C, H, W], got ",
                x.shape().to_string());
  CONVKIT_CHECK(p.kernel_h >= 1 && p.kernel_w >= 1 && p.stride_h >= 1 && p.stride_w >= 1, op,
                ": kernel and stride must be >= 1 (input ", x.shape().to_string(), ", ",
                p.to_string(), ")");
  CONVKIT_CHECK(
      p.pad_h >= 0 && p.pad_w >= 0 && p.pad_h <= p.kernel_h / 2 && p.pad_w <= p.kernel_w / 2, op,
      ": padding must be between 0 and half the kernel (input ", x.shape().to_string(), ", ",
      p.to_string(), ")");
  const int64_t OH = output_size_unchecked(x.size(2), p.kernel_h, p.stride_h, p.pad_h, p.ceil_mode);
  const int64_t OW = output_size_unchecked(x.size(3), p.kernel_w, p.stride_w, p.pad_w, p.ceil_mode);
  CONVKIT_CHECK(OH >= 1 && OW >= 1, op, ": kernel ", p.kernel_h, "x", p.kernel_w,
                " is larger than the padded input ", x.size(2) + 2 * p.pad_h, "x",
                x.size(3) + 2 * p.pad_w, " (input ", x.shape().to_string(), ", ", p.to_string(),
                ")");
  return Shape{x.size(0), x.size(1), OH, OW};
}

void check_image(const Tensor& x, const char* op) {
  CONVKIT_CHECK(x.defined(), op, ": undefined input");
  CONVKIT_CHECK(x.ndim() == 4, op, ": expected a 4-D input [N, C, H, W], got ",
                x.shape().to_string());
  CONVKIT_CHECK(x.size(2) >= 1 && x.size(3) >= 1, op, ": input ", x.shape().to_string(),
                " has an empty plane");
}

// max and avg share the dispatch; they differ in the ref kernels and what backward needs.
Tensor pool2d(const Tensor& x, const Pool2dParams& p, bool is_max) {
  const char* op = is_max ? "max_pool2d" : "avg_pool2d";
  Tensor y = Tensor::empty(pooled_shape(x, p, op), x.dtype());
  const Shape x_shape = x.shape();
  const bool training = autograd::grad_enabled() && x.requires_grad();

  // The kernel that ran the forward runs the backward: only it understands what it saved.
  detail::dispatch(
      op, x.dtype(), [&](std::string* why) { return onednn::pool2d_accepts(x, y, p, is_max, why); },
      [&] {
        // The workspace (max) belongs to this forward call; the closure keeps it for backward.
        auto ws = onednn::pool2d_forward(y, x, p, is_max, training);
        autograd::record(y, op, {x},
                         [ws, x_shape, p, is_max](const Tensor& g, const std::vector<bool>&) {
                           Tensor dx = Tensor::empty(x_shape, g.dtype());
                           onednn::pool2d_backward(dx, ws, g, p, is_max);
                           return TensorList{dx};
                         });
      },
      [&]<class T>() {
        if (is_max) {
          Tensor argmax = Tensor::empty(y.shape(), DType::i64);
          ref::max_pool2d_forward<T>(y, argmax, x, p);
          autograd::record(y, op, {x},
                           [argmax, x_shape](const Tensor& g, const std::vector<bool>&) {
                             Tensor dx = Tensor::empty(x_shape, g.dtype());
                             ref::max_pool2d_backward<T>(dx, argmax, g);
                             return TensorList{dx};
                           });
          return;
        }
        ref::avg_pool2d_forward<T>(y, x, p);
        autograd::record(y, op, {x}, [x_shape, p](const Tensor& g, const std::vector<bool>&) {
          Tensor dx = Tensor::empty(x_shape, g.dtype());
          ref::avg_pool2d_backward<T>(dx, g, p);
          return TensorList{dx};
        });
      });
  return y;
}
}  // namespace

int64_t pool_output_size(int64_t n, int64_t k, int64_t s, int64_t p, bool ceil_mode,
                         const char* op) {
  CONVKIT_CHECK(k >= 1 && s >= 1, op, ": kernel ", k, " and stride ", s, " must be >= 1");
  CONVKIT_CHECK(p >= 0 && p <= k / 2, op, ": padding ", p,
                " must be between 0 and half the kernel ", k);
  const int64_t out = output_size_unchecked(n, k, s, p, ceil_mode);
  CONVKIT_CHECK(out >= 1, op, ": kernel ", k, " is larger than the padded input ", n + 2 * p,
                " (input ", n, ", padding ", p, ")");
  return out;
}

Tensor max_pool2d(const Tensor& x, const Pool2dParams& p) {
  Tensor y = pool2d(x, p, /*is_max=*/true);
  if (detail::tracing()) detail::trace_op("max_pool2d", y, {x}, p);
  return y;
}

Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p) {
  Tensor y = pool2d(x, p, /*is_max=*/false);
  if (detail::tracing()) detail::trace_op("avg_pool2d", y, {x}, p);
  return y;
}

Tensor global_avg_pool2d(const Tensor& x) {
  check_image(x, "global_avg_pool2d");
  Tensor y = adaptive_avg_pool2d(x, 1, 1);
  if (detail::tracing()) detail::trace_op("global_avg_pool2d", y, {x});
  return y;
}

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w) {
  return adaptive_avg_pool2d(x, AdaptivePool2dParams{out_h, out_w});
}

Tensor adaptive_avg_pool2d(const Tensor& x, const AdaptivePool2dParams& p) {
  const auto [out_h, out_w] = p;
  check_image(x, "adaptive_avg_pool2d");
  CONVKIT_CHECK(out_h >= 1 && out_w >= 1, "adaptive_avg_pool2d: output size ", out_h, "x", out_w,
                " must be at least 1x1 (input ", x.shape().to_string(), ")");
  const int64_t H = x.size(2), W = x.size(3);
  // Divisible sizes give equal, disjoint bins: exactly avg_pool2d with kernel = stride = H / out_h,
  // which has a oneDNN kernel.
  if (H % out_h == 0 && W % out_w == 0) {
    Tensor y = avg_pool2d(x, Pool2dParams(H / out_h, W / out_w, H / out_h, W / out_w));
    if (detail::tracing()) detail::trace_op("adaptive_avg_pool2d", y, {x}, p);
    return y;
  }

  Tensor y = Tensor::empty(Shape{x.size(0), x.size(1), out_h, out_w}, x.dtype());
  detail::dispatch_floating(x.dtype(), "adaptive_avg_pool2d",
                            [&]<class T>() { ref::adaptive_avg_pool2d_forward<T>(y, x); });
  const Shape x_shape = x.shape();
  autograd::record(
      y, "adaptive_avg_pool2d", {x}, [x_shape](const Tensor& g, const std::vector<bool>&) {
        Tensor dx = Tensor::empty(x_shape, g.dtype());
        detail::dispatch_floating(g.dtype(), "adaptive_avg_pool2d_backward",
                                  [&]<class T>() { ref::adaptive_avg_pool2d_backward<T>(dx, g); });
        return TensorList{dx};
      });
  if (detail::tracing()) detail::trace_op("adaptive_avg_pool2d", y, {x}, p);
  return y;
}

}  // namespace convkit
