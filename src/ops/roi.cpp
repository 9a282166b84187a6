// roi_pool and roi_align (contract in include/convkit/ops/roi.h; docs/derivatives/roi.md).
//   roi_pool:  y[k, c, ph, pw] = max over bin(k, ph, pw) of x[n_k, c, h, w]; saves the arg-max.
//              dx[n_k, c, argmax] += dy[k, c, ph, pw].
//   roi_align: y[k, c, ph, pw] = sum over the bin's samples s and their four taps t of
//              w_{s,t} / count x[n_k, c, h_t, w_t] (linear in x); dx gets w_{s,t} / count dy.
// Only the rois (and for roi_pool the arg-max) are saved: both are linear in x given them.
#include "convkit/ops/roi.h"

#include <cmath>

#include "convkit/autograd.h"
#include "core/dispatch.h"
#include "core/trace.h"
#include "kernels/ref/roi.h"

namespace convkit {

namespace {

void check_roi_args(const Tensor& x, const Tensor& rois, const RoiParams& p, const char* op) {
  CONVKIT_CHECK(x.defined() && rois.defined(), op, ": undefined input");
  CONVKIT_CHECK(x.ndim() == 4, op, ": x must be [N, C, H, W], got ", x.shape().to_string());
  CONVKIT_CHECK(rois.ndim() == 2 && rois.size(1) == 5 && rois.dtype() == x.dtype(), op,
                ": rois must be [K, 5] (batch index, x1, y1, x2, y2) of x's dtype ",
                dtype_name(x.dtype()), ", got ", dtype_name(rois.dtype()), " ",
                rois.shape().to_string());
  CONVKIT_CHECK(p.out_h >= 1 && p.out_w >= 1 && p.spatial_scale > 0, op, ": output size ", p.out_h,
                "x", p.out_w, " and spatial_scale ", p.spatial_scale, " must be positive");
  CONVKIT_CHECK(x.size(2) >= 1 && x.size(3) >= 1, op, ": x ", x.shape().to_string(),
                " has an empty plane");
  CONVKIT_CHECK(x.size(2) * x.size(3) < (int64_t(1) << 31), op, ": x ", x.shape().to_string(),
                " has a plane of 2^31 elements or more");
  const Tensor r = rois.to(DType::f64);
  const double* v = r.data<double>();
  for (int64_t k = 0; k < rois.size(0); ++k) {
    const double n = v[5 * k];
    CONVKIT_CHECK(n == std::floor(n) && n >= 0 && n < double(x.size(0)), op, ": roi ", k,
                  " has batch index ", n, "; it must be an integer in [0, ", x.size(0), ")");
    for (int i = 1; i < 5; ++i)
      CONVKIT_CHECK(std::isfinite(v[5 * k + i]), op, ": roi ", k, " has a coordinate that is ",
                    v[5 * k + i]);
  }
}

Shape roi_output_shape(const Tensor& x, const Tensor& rois, const RoiParams& p) {
  return Shape({rois.size(0), x.size(1), p.out_h, p.out_w});
}

}  // namespace

Tensor roi_pool(const Tensor& x, const Tensor& rois, const RoiParams& p) {
  check_roi_args(x, rois, p, "roi_pool");
  Tensor y = Tensor::empty(roi_output_shape(x, rois, p), x.dtype());
  Tensor argmax = Tensor::empty(y.shape(), DType::i64);
  detail::dispatch_floating(x.dtype(), "roi_pool",
                            [&]<class T>() { ref::roi_pool_forward<T>(y, argmax, x, rois, p); });
  const Shape x_shape = x.shape();
  const Tensor saved_rois = rois.detach();
  autograd::record(y, "roi_pool", {x},
                   [x_shape, saved_rois, argmax](const Tensor& g, const std::vector<bool>&) {
                     Tensor dx = Tensor::empty(x_shape, g.dtype());
                     detail::dispatch_floating(g.dtype(), "roi_pool_backward", [&]<class T>() {
                       ref::roi_pool_backward<T>(dx, g, argmax, saved_rois);
                     });
                     return TensorList{dx};
                   });
  if (detail::tracing()) detail::trace_op("roi_pool", y, {x, rois}, p);
  return y;
}

Tensor roi_align(const Tensor& x, const Tensor& rois, const RoiParams& p) {
  check_roi_args(x, rois, p, "roi_align");
  Tensor y = Tensor::empty(roi_output_shape(x, rois, p), x.dtype());
  detail::dispatch_floating(x.dtype(), "roi_align",
                            [&]<class T>() { ref::roi_align_forward<T>(y, x, rois, p); });
  const Shape x_shape = x.shape();
  const Tensor saved_rois = rois.detach();
  autograd::record(y, "roi_align", {x},
                   [x_shape, saved_rois, p](const Tensor& g, const std::vector<bool>&) {
                     Tensor dx = Tensor::empty(x_shape, g.dtype());
                     detail::dispatch_floating(g.dtype(), "roi_align_backward", [&]<class T>() {
                       ref::roi_align_backward<T>(dx, g, saved_rois, p);
                     });
                     return TensorList{dx};
                   });
  if (detail::tracing()) detail::trace_op("roi_align", y, {x, rois}, p);
  return y;
}

}  // namespace convkit
